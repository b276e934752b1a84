// The systemd lab flavor end to end: four systemd hosts boot at once (boot time and memory per host reported), and
// their teardown leaves nothing on the machine (processes, network namespaces, links, the bridge, mounts, cgroups,
// disks): by `lab down`, when the test process is stopped by a signal or crashes, and by `lab down` after a kill -9.
// Its own bridge, subnet and state directory. Needs root on Linux, systemd-nspawn and the base tree (built on first use).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { runHere } from '../../src/lab/exec.js';
import { nspawnPropagateDir } from '../../src/lab/nspawn.js';
import { planLab } from '../../src/lab/plan.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, slotText } from './helpers/lab.js';

const STATE1 = '/var/lib/ironclad-lab-systemd-t'; // slot 1's (slotText moves it for this process's slot)
const HOSTS = ['sdl-a', 'sdl-b', 'sdl-c', 'sdl-d'];
const HOLD = fileURLToPath(new URL('./helpers/hold-lab.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ironclad-lab-systemd-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** An inventory of systemd lab hosts only (the first `n`). */
function inventory(n: number): string {
  const file = join(tmp, `lab-${n}.yaml`);
  const hosts = HOSTS.slice(0, n).map((h, i) => `  ${h}:\n    address: 10.213.28.${10 + i}\n    tags: [lab-systemd]\n`);
  writeFileSync(
    file,
    slotText(
      `version: 1\nlab:\n  bridge: iclsdl\n  subnet: 10.213.28.0/24\n  state_dir: ${STATE1}\n` +
        `defaults:\n  ssh:\n    user: root\n    port: 22\n    identity_file: ${STATE1}/id_ed25519\n    known_hosts: ${STATE1}/known_hosts\n` +
        `hosts:\n${hosts.join('')}`,
    ),
  );
  return file;
}

/** The lab of all four hosts, as this slot has it: names, addresses and paths the checks use. */
const PLAN = planLab(loadInventory(inventory(HOSTS.length)));
const STATE = PLAN.stateDir;
const hostPlan = (name: string) => PLAN.hosts.find((h) => h.name === name)!;

/** Everything of this lab still on the machine, one line each (empty when the teardown was total). */
async function leftovers(): Promise<string[]> {
  const r = await runHere(
    [
      ...PLAN.hosts.flatMap((h) => [
        `[ ! -e /run/netns/${h.netns} ] || echo "netns ${h.netns}"`,
        `! ip link show dev ${h.link} >/dev/null 2>&1 || echo "link ${h.link}"`,
        `for r in /sys/fs/cgroup /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do [ ! -d "$r/${h.cgroup}" ] || echo "cgroup $r/${h.cgroup}"; done`,
        `[ ! -e ${nspawnPropagateDir(h)} ] || echo "nspawn ${nspawnPropagateDir(h)}"`,
      ]),
      `! ip link show dev ${PLAN.bridge} >/dev/null 2>&1 || echo "bridge ${PLAN.bridge}"`,
      `grep -l ${STATE}/hosts /proc/[0-9]*/mountinfo 2>/dev/null | sed 's/^/mounts seen by /'`,
      `for p in /proc/[0-9]*; do case "$(readlink "$p/root" 2>/dev/null)" in ${STATE}/*) echo "process $p";; esac; done`,
      `[ ! -e ${STATE}/hosts ] || echo "disks ${STATE}/hosts"`,
      'true',
    ].join('\n'),
  );
  return r.stdout.split('\n').filter(Boolean);
}

/** Memory of a host as this machine sees it: RSS and PSS summed over every process in its network namespace, MiB. */
async function memory(host: string): Promise<{ rss: number; pss: number }> {
  const r = await runHere(
    `for p in $(ip netns pids ${hostPlan(host).netns}); do awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print r, p }' /proc/$p/smaps_rollup 2>/dev/null; done | awk '{ r += $1; p += $2 } END { print r + 0, p + 0 }'`,
  );
  const [rss, pss] = r.stdout.trim().split(' ').map((k) => Math.round(Number(k) / 1024));
  return { rss: rss!, pss: pss! };
}

/** Run hold-lab.ts on an inventory; resolves once it printed `up` (or exited). */
function hold(file: string, mode: 'wait' | 'throw') {
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  const child = spawn(process.execPath, [...loader, HOLD, file, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const up = new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => ((out += d), out.includes('up\n') && resolve()));
    child.stderr.on('data', (d) => (out += d));
    void exited.then(() => resolve());
  });
  return { child, up, exited, output: () => out };
}

async function main() {
  const four = inventory(4);
  const one = inventory(1);
  t.teardown(async () => void (await ironclad(['-i', four, 'lab', 'down'])));

  await t.test('four systemd hosts boot at once; each runs systemd as pid 1', async (t) => {
    const r = await ironclad(['-i', four, '--json', 'lab', 'up']);
    t.equal(r.code, 0, `lab up ${r.stderr}`);
    const up = JSON.parse(r.stdout) as { hosts: { host: string; action: string }[]; durationMs: number };
    t.same(up.hosts.map((h) => h.action), ['started', 'started', 'started', 'started']);
    t.comment(`4 systemd hosts booted to an ssh login in ${(up.durationMs / 1000).toFixed(1)}s`);
    t.equal((await ironclad(['-i', four, 'lab', 'status'])).code, 0, 'lab status: all up');
    const again = JSON.parse((await ironclad(['-i', four, '--json', 'lab', 'up'])).stdout) as { hosts: { action: string }[] };
    t.same(again.hosts.map((h) => h.action), ['none', 'none', 'none', 'none'], 'a second lab up changes nothing');
    const ssh = `ssh -i ${STATE}/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${STATE}/known_hosts`;
    for (const h of HOSTS) {
      const s = await runHere(`${ssh} root@${hostPlan(h).address} 'cat /proc/1/comm; systemctl is-system-running --wait'`);
      t.equal(s.stdout, 'systemd\nrunning\n', `${h}: ${s.stderr}`);
    }
    t.comment(`memory per idle host (RSS / PSS of its processes): ${(await Promise.all(HOSTS.map(memory))).map((m, i) => `${HOSTS[i]} ${m.rss}/${m.pss} MiB`).join(', ')}`);
    const pg = await runHere(
      `${ssh} root@${hostPlan('sdl-a').address} 'export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends postgresql-15 >/dev/null 2>&1 && pg_lsclusters -h | cut -d" " -f1-4 && systemctl is-active postgresql@15-main'`,
    );
    t.equal(pg.stdout, '15 main 5432 online\nactive\n', `PostgreSQL installs from the base tree's cache and starts under systemd\n${pg.stderr}`);
    const m = await memory('sdl-a');
    t.comment(`memory of a host running PostgreSQL: RSS ${m.rss} MiB, PSS ${m.pss} MiB`);
  });

  await t.test('a host rebooted on its own disk comes back with its cluster started by systemd', async (t) => {
    t.equal((await ironclad(['-i', four, '--limit', 'sdl-a', 'lab', 'down', '--keep-disks'])).code, 0, 'down, disk kept');
    t.equal((await ironclad(['-i', four, 'lab', 'status'])).code, 3, 'lab status: not all up');
    t.equal((await ironclad(['-i', four, '--limit', 'sdl-a', 'lab', 'up'])).code, 0, 'up again');
    const ssh = `ssh -i ${STATE}/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${STATE}/known_hosts`;
    const r = await runHere(`${ssh} root@${hostPlan('sdl-a').address} 'systemctl is-system-running --wait >/dev/null; systemctl is-active postgresql@15-main; pg_lsclusters -h | cut -d" " -f1-4'`);
    t.equal(r.stdout, 'active\n15 main 5432 online\n', `reachable under strict host-key checking, its cluster back under systemd\n${r.stderr}`);
  });

  await t.test('lab down leaves nothing behind', async (t) => {
    const r = await ironclad(['-i', four, 'lab', 'down']);
    t.equal(r.code, 0, r.stderr);
    t.same(await leftovers(), [], 'nothing left');
  });

  await t.test('a test process stopped by SIGTERM takes its systemd lab down', async (t) => {
    const h = hold(one, 'wait');
    await h.up;
    t.match(h.output(), /^up$/m, 'it has the lab up');
    t.not((await leftovers()).length, 0, 'the lab is up');
    h.child.kill('SIGTERM');
    await h.exited;
    t.same(await leftovers(), []);
  });

  await t.test('a test process that crashes takes its systemd lab down', async (t) => {
    const h = hold(one, 'throw');
    t.not(await h.exited, 0, 'it crashed');
    t.match(h.output(), /^up$/m, 'it had the lab up');
    t.same(await leftovers(), []);
  });

  await t.test('after a kill -9 of the test process, lab down removes what it left', async (t) => {
    const h = hold(one, 'wait');
    await h.up;
    h.child.kill('SIGKILL');
    await h.exited;
    t.not((await leftovers()).length, 0, 'kill -9 leaves the host running');
    t.equal((await ironclad(['-i', one, 'lab', 'down'])).code, 0);
    t.same(await leftovers(), []);
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
