// The lab for real: four hosts over real ssh, each its own machine; `up` twice is a no-op; a half-built host is
// rebuilt; `down` leaves nothing behind. Needs root; skipped otherwise, and when another test process holds the lab.
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { labFamily } from '../../scripts/lab.js';
import { labUp } from '../../src/lab/build.js';
import { labDown } from '../../src/lab/down.js';
import { runHere } from '../../src/lab/exec.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planLab } from '../../src/lab/plan.js';
import { observeLab } from '../../src/lab/status.js';
import { LAB_INVENTORY, labUnavailable, otherLeases, withLab } from './helpers/lab.js';

const unavailable = labUnavailable();
const plan = planLab(loadInventory(LAB_INVENTORY));
const busy = unavailable ? [] : otherLeases(plan);

/** Run a shell command here and return its stdout. */
async function here(script: string): Promise<string> {
  return (await runHere(script)).stdout;
}

/** True when no such process runs any more (gone, or a zombie waiting for this machine's init to reap it). */
function gone(pid: number): boolean {
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Run `ironclad lab -i LAB_INVENTORY ...` in this process and return its exit code and what it printed. */
async function cli(t: Test, words: string[], json = true): Promise<{ code: number; out: string }> {
  const out = t.capture(process.stdout, 'write', () => true);
  let code: number;
  try {
    code = await labFamily.run({ words, options: {}, flags: { inventory: LAB_INVENTORY, json, yes: false } });
  } finally {
    out.restore();
  }
  return { code, out: out.calls.map((c) => String(c.args[0])).join('') };
}

if (unavailable) t.plan(0, unavailable);
else if (busy.length) t.plan(0, `the lab is in use by test process ${busy.join(', ')}`);
else {
  await labDown(plan); // start from nothing, whatever an earlier run left
  const lab = await withLab(t);
  const names = plan.hosts.map((h) => h.name);

  t.test('a fresh lab comes up fast', async (t) => {
    t.same(lab.up.hosts.map((h) => h.action), ['started', 'started', 'started', 'started']);
    t.equal(lab.up.bridge.action, 'created');
    t.ok(lab.up.durationMs < 10_000, `up took ${lab.up.durationMs} ms`);
    t.comment(`lab up: ${lab.up.durationMs} ms for ${names.length} hosts`);
  });

  t.test('four hosts, each with its own name, over ssh with strict host keys', async (t) => {
    const hostnames = await Promise.all(names.map((n) => lab.sshOk(n, 'hostname')));
    t.same(hostnames.map((h) => h.trim()), names);
    t.equal(new Set(hostnames).size, 4);
  });

  t.test('each host sees only its own processes', async (t) => {
    for (const n of names) {
      const ps = (await lab.sshOk(n, 'ps -e -o pid= -o comm='))
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/));
      t.same(ps[0], ['1', 'ironclad-lab-in'], `${n}: pid 1 is the lab init`);
      const comms = new Set(ps.map((p) => p[1]));
      for (const c of comms) t.ok(['ironclad-lab-in', 'ironclad-lab-sy', 'sshd', 'bash', 'sh', 'ps'].includes(c!), `${n}: ${c} belongs to the host`);
      t.ok(ps.length < 15, `${n}: ${ps.length} processes`);
    }
  });

  t.test('no host has a Postgres cluster', async (t) => {
    for (const n of names) {
      t.equal((await lab.sshOk(n, 'pg_lsclusters -h')).trim(), '', `${n}: pg_lsclusters is empty`);
      t.equal((await lab.sshOk(n, 'ls /etc/postgresql/*/ /var/lib/postgresql/*/ 2>/dev/null | grep -v "^/" | grep . || true')).trim(), '', `${n}: no cluster files`);
    }
  });

  t.test('every host has its own host key, and known_hosts has it', async (t) => {
    const known = readFileSync(plan.hosts[0]!.knownHosts, 'utf8');
    const machine = readFileSync('/etc/ssh/ssh_host_ed25519_key.pub', 'utf8').split(' ')[1];
    const keys = await Promise.all(names.map(async (n) => (await lab.sshOk(n, 'cat /etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1]!));
    t.equal(new Set(keys).size, 4, 'four distinct keys');
    t.notOk(keys.includes(machine!), "none is the machine's");
    names.forEach((n, i) => t.match(known, `${n},${lab.host(n).address} ssh-ed25519 ${keys[i]}`, `${n} in known_hosts`));
    const db = lab.host('db-prod');
    const wrong = await runHere(`ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -i ${db.identityFile} root@${db.address} true`);
    t.not(wrong.code, 0, 'an unknown host key is refused (no trust on first use)');
  });

  t.test('hosts reach each other by name, and nothing else', async (t) => {
    const banner = await lab.sshOk('db-prod', "bash -c 'exec 3<>/dev/tcp/backup-far/22 && head -c 4 <&3'");
    t.equal(banner, 'SSH-');
    t.match(await lab.sshOk('staging', 'ip -4 route'), new RegExp(`^default via ${plan.gateway.replace(/\./g, '\\.')} dev eth0`, 'm'));
  });

  t.test('the init reaps orphans and keeps a syslog', async (t) => {
    const zombies = await lab.sshOk('app-prod', "for i in 1 2 3 4 5; do sh -c 'sleep 0.2 &'; done; sleep 1; ps -e -o stat= | awk '/^Z/ { n++ } END { print n + 0 }'");
    t.equal(zombies.trim(), '0');
    const log = await lab.sshOk('app-prod', 'logger -t lab-e2e hello-from-the-test; sleep 0.3; tail -n 5 /var/log/syslog');
    t.match(log, /app-prod lab-e2e: hello-from-the-test/);
  });

  t.test('a second up changes nothing and is quick', async (t) => {
    const again = await labUp(plan);
    t.same(again.hosts.map((h) => h.action), ['none', 'none', 'none', 'none']);
    t.same(again.hosts.map((h) => h.pid), lab.up.hosts.map((h) => h.pid), 'same inits');
    t.equal(again.bridge.action, 'none');
    t.equal(again.knownHostsChanged, false);
    t.ok(again.durationMs < 2000, `second up took ${again.durationMs} ms`);
  });

  t.test('lab status through the CLI family', async (t) => {
    const { code, out } = await cli(t, ['status']);
    t.equal(code, 0);
    const status = JSON.parse(out);
    t.same(status.hosts.map((h: { host: string; state: string; ssh: boolean }) => [h.host, h.state, h.ssh]), names.map((n) => [n, 'up', true]));
    t.equal(status.bridge.up, true);
  });

  t.test('a half-built lab is rebuilt: dead init, missing veth', async (t) => {
    const before = await observeLab(plan, plan.hosts);
    const pids = Object.fromEntries(before.hosts.map((h) => [h.host, h.pid!]));
    await here(`kill -KILL ${pids.staging}`);
    await here(`ip link del dev ${lab.host('app-prod').link}`);
    for (let i = 0; i < 50 && !gone(pids.staging!); i++) await new Promise((r) => setTimeout(r, 50));
    const half = await observeLab(plan, plan.hosts);
    t.same(half.hosts.map((h) => h.state), ['up', 'degraded', 'up', 'degraded']);
    const fixed = await labUp(plan);
    t.same(fixed.hosts.map((h) => h.action), ['none', 'rebuilt', 'none', 'rebuilt']);
    t.equal(fixed.hosts[0]!.pid, pids['db-prod'], 'db-prod untouched');
    t.not(fixed.hosts[3]!.pid, pids.staging, 'staging has a new init');
    t.equal((await lab.sshOk('staging', 'hostname')).trim(), 'staging');
    t.equal((await lab.sshOk('app-prod', 'hostname')).trim(), 'app-prod');
    t.ok(gone(pids['app-prod']!), "app-prod's old init is gone");
  });

  t.test('down --keep-disks then up: a reboot keeps the host disk', async (t) => {
    await lab.sshOk('db-prod', 'echo kept > /root/marker');
    await labDown(plan, { keepDisks: true });
    const up = await labUp(plan);
    t.same(up.hosts.map((h) => h.action), ['started', 'started', 'started', 'started']);
    t.equal((await lab.sshOk('db-prod', 'cat /root/marker')).trim(), 'kept');
  });

  t.test('down leaves nothing behind', async (t) => {
    const pids = (await observeLab(plan, plan.hosts)).hosts.map((h) => h.pid!);
    const { code, out } = await cli(t, ['down']);
    t.equal(code, 0);
    t.same(JSON.parse(out).hosts.map((h: { killed: number[] }) => h.killed), pids.map((p) => [p]), 'each recorded init was killed');
    // other labs (other inventories) may run on this machine at the same time: look for this lab's names
    const netns = (await here('ip netns list')).split('\n').map((l) => l.split(' ')[0]);
    const links = (await here('ip -o link show')).split('\n').map((l) => l.split(': ')[1]?.split('@')[0]);
    for (const h of plan.hosts) {
      t.notOk(netns.includes(h.netns), `no netns ${h.netns}`);
      t.notOk(links.includes(h.link), `no veth ${h.link}`);
    }
    t.notOk(links.includes(plan.bridge), `no bridge ${plan.bridge}`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    t.notOk(mounts.includes(plan.stateDir), 'no mount under the state dir, no overlay with its upper layer there');
    for (const pid of pids) t.ok(gone(pid), `init ${pid} is gone`);
    t.notOk(existsSync(plan.hostsDir), 'host disks removed');
    t.ok(existsSync(plan.hosts[0]!.identityFile), 'the lab key is kept');
    t.notOk(existsSync(plan.hosts[0]!.knownHosts), 'known_hosts removed with the host keys');
    const status = await cli(t, ['status']);
    t.equal(status.code, 3, 'status of a lab that is down exits 3');
  });
}
