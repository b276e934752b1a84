// Unit tests of the probe: parsing real output, and the verdict on each host from canned observations.
import t from 'tap';
import { planLab } from '../../src/lab/plan.js';
import { assessHost, bridgeHealthy, liveInit, parseLinkLine, parseProbe, probeScript, type HostProbe } from '../../src/lab/probe.js';
import { labInventory } from './fixtures/inventory.js';
import { probeHalfBuilt, probeNothing } from './fixtures/probe.js';

const plan = planLab(labInventory());
const [db, , , staging] = plan.hosts;

t.test('the probe script reads, never writes', async (t) => {
  const script = probeScript(plan, plan.hosts);
  for (const h of plan.hosts) t.match(script, `echo '@host ${h.name}'`, h.name);
  t.notMatch(script, /\b(kill|rm|del|add|mount|umount|set)\b /, 'no command that changes anything');
  t.match(script, 'ip -o link show dev icl0');
  t.match(script, '/var/lib/icl-test/hosts/staging/init.pid');
  t.same(probeScript(plan, [db!]).match(/@host/g)?.length, 1, 'only the hosts asked for');
});

t.test('parse real output of a half-built lab', async (t) => {
  const p = parseProbe(probeHalfBuilt);
  t.same(p.bridgeAddresses, ['10.213.7.1/24']);
  t.ok(bridgeHealthy(plan, p), 'bridge up with the gateway');
  t.same(Object.keys(p.hosts), ['db-prod', 'app-prod', 'backup-far', 'staging']);
  t.match(p.hosts['db-prod'], { netns: true, address: '10.213.7.10/24', route: 'default via 10.213.7.1 dev eth0', pid: 19792, pidNetns: 'icl-db-prod', nsPids: [19792, 1] });
  t.match(p.hosts.staging, { netns: true, pid: 19851 });
  t.equal(p.hosts.staging!.pidNetns, undefined, 'the dead init has no netns');
  t.equal(liveInit(db!, p.hosts['db-prod']!), 19792);
  t.equal(liveInit(staging!, p.hosts.staging!), null);
});

t.test('parse an empty machine', async (t) => {
  const p = parseProbe(probeNothing);
  t.notOk(bridgeHealthy(plan, p));
  t.same(p.hosts['db-prod'], { netns: false });
});

t.test('link lines give flags and master', async (t) => {
  const cases = [
    { line: '27: icl-db-prod@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master icl0 state UP', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], master: 'icl0' },
    { line: '26: icl0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN', flags: ['BROADCAST', 'MULTICAST'], master: undefined },
    { line: 'garbage', flags: [], master: undefined },
  ];
  for (const c of cases) t.same(parseLinkLine(c.line), { flags: c.flags, master: c.master }, c.line);
});

t.test('bridge health needs the link up and the gateway address', async (t) => {
  const up = '1: icl0: <BROADCAST,UP,LOWER_UP> mtu 1500';
  const cases = [
    { name: 'healthy', probe: { bridgeLink: up, bridgeAddresses: ['10.213.7.1/24'] }, healthy: true },
    { name: 'no address', probe: { bridgeLink: up, bridgeAddresses: [] }, healthy: false },
    { name: 'wrong address', probe: { bridgeLink: up, bridgeAddresses: ['10.213.7.2/24'] }, healthy: false },
    { name: 'link down', probe: { bridgeLink: '1: icl0: <BROADCAST> mtu 1500', bridgeAddresses: ['10.213.7.1/24'] }, healthy: false },
    { name: 'missing', probe: { bridgeAddresses: [] }, healthy: false },
  ];
  for (const c of cases) t.equal(bridgeHealthy(plan, { ...c.probe, hosts: {} }), c.healthy, c.name);
});

t.test('verdict on one host', async (t) => {
  const healthy: HostProbe = {
    netns: true,
    address: '10.213.7.10/24',
    route: 'default via 10.213.7.1 dev eth0',
    link: '27: icl-db-prod@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master icl0 state UP',
    pid: 100,
    pidNetns: 'icl-db-prod',
    nsPids: [100, 1],
  };
  const cases: { name: string; probe: HostProbe | undefined; ssh: boolean; state: string; pid: number | null; problems: RegExp[] }[] = [
    { name: 'all there', probe: healthy, ssh: true, state: 'up', pid: 100, problems: [] },
    { name: 'nothing there', probe: { netns: false }, ssh: false, state: 'down', pid: null, problems: [/no network namespace icl-db-prod/, /no link icl-db-prod/, /init is not running/] },
    { name: 'not probed', probe: undefined, ssh: false, state: 'down', pid: null, problems: [/no network namespace/] },
    { name: 'init died', probe: { ...healthy, pidNetns: undefined, nsPids: undefined }, ssh: false, state: 'degraded', pid: null, problems: [/init is not running/, /sshd does not answer on 10.213.7.10:22/] },
    { name: 'pid reused by a process elsewhere', probe: { ...healthy, pidNetns: '', nsPids: [100] }, ssh: false, state: 'degraded', pid: null, problems: [/init is not running/] },
    { name: 'pid in the netns but not an init', probe: { ...healthy, nsPids: [100, 7] }, ssh: true, state: 'degraded', pid: null, problems: [/init is not running/] },
    { name: 'sshd gone', probe: healthy, ssh: false, state: 'degraded', pid: 100, problems: [/sshd does not answer/] },
    { name: 'veth gone', probe: { ...healthy, link: undefined }, ssh: false, state: 'degraded', pid: 100, problems: [/no link icl-db-prod/] },
    { name: 'veth off the bridge', probe: { ...healthy, link: '27: icl-db-prod@if2: <BROADCAST,UP> mtu 1500 state UP' }, ssh: false, state: 'degraded', pid: 100, problems: [/link icl-db-prod is not up on bridge icl0/] },
    { name: 'eth0 without its address', probe: { ...healthy, address: undefined, route: undefined }, ssh: false, state: 'degraded', pid: 100, problems: [/eth0 does not have 10.213.7.10\/24/, /no default route via 10.213.7.1/] },
    { name: 'the name is used by another lab', probe: { ...healthy, link: '27: icl-db-prod@if2: <BROADCAST,UP> mtu 1500 master icl2 state UP' }, ssh: true, state: 'conflict', pid: null, problems: [/link icl-db-prod is on bridge icl2, not icl0: another lab uses the host name db-prod/] },
    { name: 'netns gone, init alive', probe: { ...healthy, netns: false }, ssh: false, state: 'degraded', pid: 100, problems: [/no network namespace/] },
  ];
  for (const c of cases) {
    const v = assessHost(plan, db!, c.probe, c.ssh);
    t.equal(v.state, c.state, `${c.name}: state`);
    t.equal(v.pid, c.pid, `${c.name}: pid`);
    if (c.problems.length === 0) t.same(v.problems, [], `${c.name}: no problems`);
    for (const p of c.problems) t.ok(v.problems.some((x) => p.test(x)), `${c.name}: ${p}`);
  }
});
