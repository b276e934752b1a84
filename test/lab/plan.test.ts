// Unit tests of the lab planner: names, addresses, paths and the problems that stop a lab (tables of cases).
import t from 'tap';
import { UserError } from '../../src/core/errors.js';
import type { Inventory } from '../../src/inventory/types.js';
import { intToIpv4, ipv4ToInt, labMac, labPrefix, labProblems, linkName, parseSubnet, planLab, selectLabHosts } from '../../src/lab/plan.js';
import { labHost, labInventory } from './fixtures/inventory.js';

t.test('IPv4 addresses round-trip and reject junk', async (t) => {
  for (const [text, n] of [
    ['10.213.7.10', 0x0ad5070a],
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
  ] as const) {
    t.equal(ipv4ToInt(text), n, text);
    t.equal(intToIpv4(n), text, `${n}`);
  }
  for (const junk of ['10.213.7', '10.213.7.256', 'a.b.c.d', '10.213.7.10/24', '']) t.equal(ipv4ToInt(junk), undefined, junk);
});

t.test('subnets give network, gateway and broadcast', async (t) => {
  const cases = [
    { cidr: '10.213.7.0/24', gateway: '10.213.7.1', prefixLength: 24, broadcast: '10.213.7.255' },
    { cidr: '10.213.7.99/24', gateway: '10.213.7.1', prefixLength: 24, broadcast: '10.213.7.255' },
    { cidr: '192.168.4.0/22', gateway: '192.168.4.1', prefixLength: 22, broadcast: '192.168.7.255' },
  ];
  for (const c of cases) {
    const s = parseSubnet(c.cidr);
    t.same({ gateway: s.gateway, prefixLength: s.prefixLength, broadcast: intToIpv4(s.broadcast) }, { gateway: c.gateway, prefixLength: c.prefixLength, broadcast: c.broadcast }, c.cidr);
  }
  for (const bad of ['10.213.7.0', '10.213.7.0/33', '10.213.7.0/x', 'nope/24']) t.throws(() => parseSubnet(bad), UserError, bad);
});

t.test('link names fit IFNAMSIZ and stay distinct', async (t) => {
  const cases = [
    { host: 'db-prod', link: 'icl-db-prod' },
    { host: 'backup-far', link: 'icl-backup-far' },
    { host: 'a', link: 'icl-a' },
  ];
  for (const c of cases) t.equal(linkName(c.host), c.link, c.host);
  const long = ['reporting-replica-1', 'reporting-replica-2', 'a-very-long-host-name.example.com'].map((h) => linkName(h));
  for (const l of long) t.ok(l.length <= 15 && l.startsWith('icl-'), `${l} fits`);
  t.equal(new Set(long).size, long.length, 'long names stay distinct');
  t.equal(linkName('reporting-replica-1'), linkName('reporting-replica-1'), 'stable');
  for (const [host, prefix, link] of [
    ['db-prod', 'icl0s2', 'icl0s2-db-prod'],
    ['backup-far', 'icl0s2', 'icl0s2-bac-1b95'],
    ['backup-far', 'iclabcdef', 'iclabcdef--1b95'],
  ] as const) {
    t.equal(linkName(host, prefix), link, `${host} in lab ${prefix}`);
    t.ok(link.length <= 15, `${link} fits IFNAMSIZ`);
  }
});

t.test('names of two labs with the same hosts never meet: the prefix comes from the bridge', async (t) => {
  t.equal(labPrefix('icl0'), 'icl', 'the repository lab keeps icl-<host> (scripts/demo.sh)');
  t.equal(labPrefix('iclsd'), 'iclsd');
  const hosts = ['db-prod', 'app-prod', 'backup-far', 'staging', 'sd-db', 'x'];
  const labs = ['icl0', 'icl0s2', 'iclsd', 'iclsds2', 'iclpt', 'icl1', 'iclabcdef'].map((bridge) =>
    planLab(labInventory({ lab: { bridge, subnet: '10.213.7.0/24', state_dir: `/var/lib/icl-${bridge}` }, hosts: hosts.map((h, i) => labHost(h, `10.213.7.${10 + i}`)) })),
  );
  for (const kind of ['netns', 'link', 'cgroup'] as const) {
    const all = labs.flatMap((p) => p.hosts.map((h) => h[kind]));
    t.equal(new Set(all).size, all.length, `every ${kind} distinct across ${labs.length} labs of the same ${hosts.length} hosts`);
  }
  t.ok(labs.every((p) => p.hosts.every((h) => h.link.length <= 15)), 'links fit IFNAMSIZ');
  const sd = planLab(labInventory({ lab: { bridge: 'iclsd', subnet: '10.213.7.0/24', state_dir: '/var/lib/icl-test' }, hosts: [labHost('db', '10.213.7.10')] }));
  const main = planLab(labInventory({ hosts: [labHost('sd-db', '10.213.7.10')] }));
  t.not(sd.hosts[0]!.netns, main.hosts[0]!.netns, "lab iclsd's host db is not lab icl0's host sd-db");
});

t.test('MACs are fixed per address and locally administered', async (t) => {
  t.equal(labMac('10.213.7.10'), '02:1c:0a:d5:07:0a');
  t.equal(labMac('10.213.7.1'), '02:1c:0a:d5:07:01');
  t.throws(() => labMac('nope'));
});

t.test('the plan lays out every host', async (t) => {
  const plan = planLab(labInventory());
  t.match(plan, { bridge: 'icl0', subnet: '10.213.7.0/24', prefixLength: 24, gateway: '10.213.7.1', stateDir: '/var/lib/icl-test', hostsDir: '/var/lib/icl-test/hosts', lockFile: '/var/lib/icl-test/lab.lock', inventoryFile: '/repo/inventory/lab.yaml' });
  t.same(plan.hosts.map((h) => h.name), ['db-prod', 'app-prod', 'backup-far', 'staging']);
  t.same(plan.hosts[0], {
    name: 'db-prod',
    flavor: 'namespace',
    address: '10.213.7.10',
    sshPort: 22,
    netns: 'icl-db-prod',
    link: 'icl-db-prod',
    dir: '/var/lib/icl-test/hosts/db-prod',
    upper: '/var/lib/icl-test/hosts/db-prod/upper',
    work: '/var/lib/icl-test/hosts/db-prod/work',
    root: '/var/lib/icl-test/hosts/db-prod/root',
    pidFile: '/var/lib/icl-test/hosts/db-prod/init.pid',
    logFile: '/var/lib/icl-test/hosts/db-prod/boot.log',
    bootFile: '/var/lib/icl-test/hosts/db-prod/boot.sh',
    hostKeyPub: '/var/lib/icl-test/hosts/db-prod/upper/etc/ssh/ssh_host_ed25519_key.pub',
    identityFile: '/var/lib/icl-test/id_ed25519',
    knownHosts: '/var/lib/icl-test/known_hosts',
    cgroup: 'ironclad-lab/icl-db-prod',
  });
  t.equal(planLab(labInventory({ lab: { bridge: 'icl0', subnet: '10.213.7.0/24', state_dir: '/var/lib/icl-test///' } })).stateDir, '/var/lib/icl-test', 'trailing slashes dropped');
});

t.test('inventories that cannot make a lab say why', async (t) => {
  const base = labInventory();
  const cases: { name: string; inv: Inventory; problem: RegExp }[] = [
    { name: 'no lab section', inv: { ...base, lab: undefined }, problem: /has no 'lab' section/ },
    { name: 'foreign bridge name', inv: { ...base, lab: { ...base.lab!, bridge: 'eth0' } }, problem: /lab.bridge 'eth0' must start with 'icl'/ },
    { name: "a '-' in the bridge (icl-sd-db: lab icl-sd's db, or lab icl0's sd-db?)", inv: { ...base, lab: { ...base.lab!, bridge: 'icl-sd' } }, problem: /lab.bridge 'icl-sd' must start with 'icl', then 1 to 6 lowercase letters or digits/ },
    { name: 'the bare prefix (the prefix of lab icl0)', inv: { ...base, lab: { ...base.lab!, bridge: 'icl' } }, problem: /lab.bridge 'icl' must/ },
    { name: 'a bridge too long to leave room in link names', inv: { ...base, lab: { ...base.lab!, bridge: 'iclabcdefg' } }, problem: /lab.bridge 'iclabcdefg' must/ },
    { name: 'state_dir too shallow', inv: { ...base, lab: { ...base.lab!, state_dir: '/var' } }, problem: /state_dir '\/var' must be an absolute path at least two levels deep/ },
    { name: 'relative state_dir', inv: { ...base, lab: { ...base.lab!, state_dir: 'lab/state' } }, problem: /must be an absolute path/ },
    { name: 'bad subnet', inv: { ...base, lab: { ...base.lab!, subnet: '10.213.7.0' } }, problem: /lab.subnet '10.213.7.0' is not an IPv4 subnet/ },
    { name: 'address outside the subnet', inv: { ...base, hosts: [labHost('x', '10.213.8.10')] }, problem: /hosts.x.address 10.213.8.10 is not a host address of lab.subnet/ },
    { name: 'the gateway address', inv: { ...base, hosts: [labHost('x', '10.213.7.1')] }, problem: /hosts.x.address 10.213.7.1 is not a host address/ },
    { name: 'the network address', inv: { ...base, hosts: [labHost('x', '10.213.7.0')] }, problem: /10.213.7.0 is not a host address/ },
    { name: 'the broadcast address', inv: { ...base, hosts: [labHost('x', '10.213.7.255')] }, problem: /10.213.7.255 is not a host address/ },
    { name: 'not an address', inv: { ...base, hosts: [labHost('x', 'db.example.com')] }, problem: /hosts.x.address 'db.example.com' is not an IPv4 address/ },
  ];
  for (const c of cases) {
    const problems = labProblems(c.inv);
    t.match(problems.join('\n'), c.problem, c.name);
    t.throws(() => planLab(c.inv), UserError, `${c.name}: planLab refuses`);
  }
  t.same(labProblems(base), [], 'the lab inventory is fine');
  t.same(labProblems({ ...base, hosts: [...base.hosts, labHost('y', '10.213.7.254')] }), [], 'the last host address is fine');
  const both = labProblems({ ...base, lab: { ...base.lab!, bridge: 'br0' }, hosts: [labHost('x', '10.1.1.1')] });
  t.equal(both.length, 2, 'every problem at once');
});

t.test('--limit selects hosts and rejects unknown ones', async (t) => {
  const plan = planLab(labInventory());
  t.same(selectLabHosts(plan).map((h) => h.name), ['db-prod', 'app-prod', 'backup-far', 'staging']);
  t.same(selectLabHosts(plan, []).length, 4);
  t.same(selectLabHosts(plan, ['staging', 'db-prod']).map((h) => h.name), ['db-prod', 'staging'], 'inventory order');
  t.throws(() => selectLabHosts(plan, ['db-prod', 'nope']), { name: 'UserError', message: /unknown lab host nope/ });
});
