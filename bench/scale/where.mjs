// Where the time of the census, facts and a no-op plan goes on an estate: the same work as the commands (the
// census 32 hosts at once, facts and plan 8 at once, as the CLI fans them out), split into phases: process start and
// imports, inventory, SSH connections (handshakes), then each step on the open connections. For every phase: wall
// time, this process's CPU time, and per host the median and slowest step. Read-only on the hosts.
// Usage (after a build, on lab hosts): node bench/scale/where.mjs -i INVENTORY [--limit h1,h2]
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = performance.now();
const cpu0 = process.cpuUsage();
const root = resolve(fileURLToPath(import.meta.url), '../../..');
const dist = (p) => import(resolve(root, 'dist', p));
const [{ loadInventory, selectHosts }, { ConnectionPool }, { fanOut }, { gatherFacts }, { checkInstances }, { planOne, rolePasswords }] = await Promise.all([
  dist('src/inventory/load.js'),
  dist('src/executor/pool.js'),
  dist('src/executor/fanout.js'),
  dist('src/facts/gather.js'),
  dist('src/instances/check.js'),
  dist('src/provision/run.js'),
]);

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const rows = [];
let cpuMark = cpu0;
let wallMark = started;
/** Close a phase: its wall time, this process's CPU time, and the per-host step times (ms) when given. */
function phase(name, perHost = []) {
  const now = performance.now();
  const cpu = process.cpuUsage(cpuMark);
  const sorted = [...perHost].sort((a, b) => a - b);
  rows.push({ name, wall: now - wallMark, cpu: (cpu.user + cpu.system) / 1000, median: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) });
  cpuMark = process.cpuUsage();
  wallMark = now;
}
phase('node start + imports (after exec)');

const inv = loadInventory(resolve(opt('-i') ?? 'inventory/inventory.yaml'));
const hosts = selectHosts(inv, opt('--limit')?.split(','));
phase('inventory: load + validate');

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
  phase('facts (all), 8 at once', await timedEach(8, async (h) => gatherFacts(await pool.get(h))));
  phase('plan (facts + cluster_state), 8 at once', await timedEach(8, async (h) => planOne(await pool.get(h), h, rolePasswords(inv, h))));
} finally {
  await pool.closeAll();
}
phase('close');

const f = (ms) => (ms === undefined ? '' : (ms / 1000).toFixed(2));
console.log(`${'phase'.padEnd(44)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(7)} ${'host median s'.padStart(14)} ${'host max s'.padStart(11)}`);
for (const r of rows) console.log(`${r.name.padEnd(44)} ${f(r.wall).padStart(7)} ${f(r.cpu).padStart(7)} ${f(r.median).padStart(14)} ${f(r.max).padStart(11)}`);
const total = process.cpuUsage(cpu0);
console.log(`total ${f(performance.now() - started)} s wall, ${f((total.user + total.system) / 1000)} s CPU in this process, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
