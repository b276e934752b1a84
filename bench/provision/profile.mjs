// Where `ironclad apply` spends its time: the same work as the apply command (per-host applyOne, fanned out),
// through an SSH connector that records every round trip (host, start, duration, first words of the command).
// Usage (after a build, on lab hosts): node bench/provision/profile.mjs [-i bench/provision/lab.yaml] [--limit h1,h2]
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const dist = (p) => import(resolve(root, 'dist', p));
const t0 = performance.now();
const [{ loadInventory, selectHosts }, { sshConnector }, { withPool }, { fanOut }, { applyOne, rolePasswords }] = await Promise.all([
  dist('src/inventory/load.js'),
  dist('src/connectors/ssh.js'),
  dist('src/executor/pool.js'),
  dist('src/executor/fanout.js'),
  dist('src/provision/run.js'),
]);
const tImport = performance.now();

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const inv = loadInventory(resolve(opt('-i', resolve(root, 'bench/provision/lab.yaml'))));
const hosts = selectHosts(inv, opt('--limit', undefined)?.split(','));
const tLoad = performance.now();

const calls = [];
const ms = (a, b) => (b - a).toFixed(0).padStart(6);
const what = (script) => script.replace(/\s+/g, ' ').replace(/SCRAM-SHA-256\$[^']*/g, '***').slice(0, 90);

/** The ssh connector, timing connect, run and put. */
async function timedConnect(host) {
  const start = performance.now();
  const conn = await sshConnector(host);
  calls.push({ host: host.name, start, end: performance.now(), kind: 'connect', text: `${host.ssh.user}@${host.address}` });
  const timed = (kind, fn, text) => async (...a) => {
    const s = performance.now();
    try {
      return await fn(...a);
    } finally {
      calls.push({ host: host.name, start: s, end: performance.now(), kind, text: text(...a) });
    }
  };
  return { ...conn, host: conn.host, run: timed('run', conn.run, what), put: timed('put', conn.put, (p) => p), get: timed('get', conn.get, (p) => p), close: conn.close };
}

const outcomes = await withPool(
  (pool) => fanOut(hosts, async (h) => applyOne({ conn: await pool.get(h), host: h, passwords: rolePasswords(inv, h), confirmRestart: false })),
  timedConnect,
);
const tEnd = performance.now();

for (const c of calls.sort((a, b) => a.start - b.start)) console.log(`${c.host.padEnd(8)} ${ms(t0, c.start)} ${ms(c.start, c.end)} ms  ${c.kind.padEnd(7)} ${c.text}`);
console.log('');
for (const h of hosts) {
  const mine = calls.filter((c) => c.host === h.name);
  const busy = mine.reduce((n, c) => n + c.end - c.start, 0);
  const o = outcomes.find((x) => x.host === h.name);
  console.log(`${h.name}: ${mine.length} round trips, ${busy.toFixed(0)} ms in them, ${o.ok ? `${o.value.applied.length} changes` : `FAILED ${o.error.message}`}`);
}
console.log(`node + imports ${ms(0, tImport)} ms (after process start); inventory ${ms(tImport, tLoad)} ms; hosts ${ms(tLoad, tEnd)} ms; total ${ms(0, tEnd)} ms`);
