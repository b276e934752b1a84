// Where the time of the census, facts and a no-op plan goes on an estate: the same work as the commands (the
// census 32 hosts at once, facts and plan HOSTS_AT_ONCE, 8 before it existed, as the CLI fans them out), split into
// phases: process start and imports, inventory, SSH connections (handshakes), then each step on the open
// connections. For every phase: wall time, this process's CPU time, the lab hosts' CPU time (every process in their network namespaces, with the
// children they reaped: sshd, shells, tools, PostgreSQL), and per host the median and slowest step. Read-only.
// Usage (after a build, on lab hosts): node bench/scale/where.mjs -i INVENTORY [--limit h1,h2] [--no-facts]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = performance.now();
const cpu0 = process.cpuUsage();
const root = resolve(fileURLToPath(import.meta.url), '../../..');
const dist = (p) => import(resolve(root, 'dist', p));
const [{ loadInventory, selectHosts }, { ConnectionPool }, { fanOut }, { gatherFacts }, { checkInstances }, { planOne, rolePasswords }, { tlsSource }, limiter] = await Promise.all([
  dist('src/inventory/load.js'),
  dist('src/executor/pool.js'),
  dist('src/executor/fanout.js'),
  dist('src/facts/gather.js'),
  dist('src/instances/check.js'),
  dist('src/provision/run.js'),
  dist('src/tls/source.js'),
  dist('src/core/limiter.js'),
]);
// hosts at once as the CLI fans them out: the census 32, the others HOSTS_AT_ONCE (8 in builds before it existed)
const wide = limiter.HOSTS_AT_ONCE ?? 8;

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const HZ = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
let namespaces = [];
/** CPU seconds used so far by the lab hosts' processes (utime stime cutime cstime, /proc/PID/stat). */
function hostsCpu() {
  let ticks = 0;
  for (const ns of namespaces)
    for (const pid of execFileSync('ip', ['netns', 'pids', ns]).toString().split('\n').filter(Boolean)) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
        ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      } catch {
        // gone meanwhile
      }
    }
  return ticks / HZ;
}

const rows = [];
let cpuMark = cpu0;
let wallMark = started;
let hostsMark = 0;
/** Close a phase: its wall time, this process's and the hosts' CPU time, the per-host step times (ms) when given. */
function phase(name, perHost = []) {
  const now = performance.now();
  const cpu = process.cpuUsage(cpuMark);
  const hosts = namespaces.length ? hostsCpu() : 0; // sampled outside the next phase's clocks
  const sorted = [...perHost].sort((a, b) => a - b);
  rows.push({ name, wall: now - wallMark, cpu: (cpu.user + cpu.system) / 1000, hosts: (hosts - hostsMark) * 1000, median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) });
  hostsMark = hosts;
  cpuMark = process.cpuUsage();
  wallMark = performance.now();
}
phase('node start + imports (after exec)');

const inv = loadInventory(resolve(opt('-i') ?? 'inventory/inventory.yaml'));
const hosts = selectHosts(inv, opt('--limit')?.split(','));
phase('inventory: load + validate');
namespaces = hosts.map((h) => `iclsc0-${h.name}`); // (the lab of bridge iclsc0 prefixes its hosts with it: src/lab/plan.ts)
hostsMark = hostsCpu();
wallMark = performance.now();
cpuMark = process.cpuUsage();

const pool = new ConnectionPool();
const timedEach = async (limit, fn) => {
  const times = [];
  const outs = await fanOut(hosts, async (h) => {
    const s = performance.now();
    try {
      return await fn(h);
    } finally {
      times.push(performance.now() - s);
    }
  }, limit);
  const failed = outs.filter((o) => !o.ok);
  if (failed.length) throw new Error(failed.map((o) => `${o.host}: ${o.error.message}`).join('\n'));
  return times;
};
try {
  phase(`ssh connect, ${hosts.length} hosts, 32 at once`, await timedEach(32, (h) => pool.get(h)));
  phase('census (check instances), 32 at once', await timedEach(32, async (h) => checkInstances(await pool.get(h), h)));
  if (!args.includes('--no-facts')) phase(`facts (all), ${wide} at once`, await timedEach(wide, async (h) => gatherFacts(await pool.get(h))));
  const tls = await tlsSource(inv, 'preview', hosts); // as plan reads it: the estate CA if there is one, nothing signed
  phase(`plan (facts + cluster_state), ${wide} at once`, await timedEach(wide, async (h) => planOne(await pool.get(h), h, rolePasswords(inv, h), false, tls)));
} finally {
  await pool.closeAll();
}
phase('close');

const f = (ms) => (ms === undefined ? '' : (ms / 1000).toFixed(2));
console.log(`${'phase'.padEnd(44)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(7)} ${'hosts CPU s'.padStart(12)} ${'host median s'.padStart(14)} ${'host max s'.padStart(11)}`);
for (const r of rows) console.log(`${r.name.padEnd(44)} ${f(r.wall).padStart(7)} ${f(r.cpu).padStart(7)} ${f(r.hosts).padStart(12)} ${f(r.median).padStart(14)} ${f(r.max).padStart(11)}`);
const total = process.cpuUsage(cpu0);
console.log(`total ${f(performance.now() - started)} s wall (with the samples of the hosts' CPU), ${f((total.user + total.system) / 1000)} s CPU in this process, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
