// The end-to-end tests in two queues, one per lab slot (test/e2e/helpers/slot.ts), run side by side: each queue is one
// `tap` run of its files (one at a time) with IRONCLAD_LAB_SLOT set, so the two never share a lab. Output is streamed
// with a `[lab N]` prefix and kept whole per queue in .tap/e2e-lab-N.log; a summary at the end, with what failed; exit 1 when either
// queue failed. A signal is passed on to both queues' process groups: their test processes take their labs down
// (the exit and signal hooks of test/e2e/helpers/lab.ts).
//   node dist/scripts/e2e.js [FILE...]      (default: test/e2e/*.test.ts; `npm test` runs it)
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { balanceQueues, E2E_SECONDS, failureDigest, lineSplitter, type TestQueue } from '../src/lab/queues.js';

const root = resolve(process.cwd());
const files = process.argv.length > 2 ? process.argv.slice(2) : readdirSync(join(root, 'test/e2e')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/e2e/${f}`);
const queues = balanceQueues(files, (f) => E2E_SECONDS[basename(f, '.test.ts')]);
const started = Date.now();
mkdirSync(join(root, '.tap'), { recursive: true });

interface Outcome {
  queue: TestQueue;
  code: number;
  seconds: number;
  log: string;
  failures: string[];
}

const running = new Set<import('node:child_process').ChildProcess>();

/** One queue: `tap FILES` on its lab slot, its output prefixed on ours and written whole to its log. */
function runQueue(queue: TestQueue): Promise<Outcome> {
  const log = join(root, '.tap', `e2e-lab-${queue.slot}.log`);
  const out = createWriteStream(log);
  const prefix = `[lab ${queue.slot}] `;
  process.stdout.write(`${prefix}${queue.files.length} files, ~${queue.seconds} s alone: ${queue.files.map((f) => basename(f, '.test.ts')).join(' ')}\n`);
  if (!queue.files.length) return Promise.resolve({ queue, code: 0, seconds: 0, log, failures: [] });
  const child = spawn(join(root, 'node_modules/.bin/tap'), ['--jobs=1', ...queue.files], {
    cwd: root,
    env: { ...process.env, IRONCLAD_LAB_SLOT: String(queue.slot) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a signal reaches tap and its test processes (tap alone would wait for them)
  });
  running.add(child);
  const t0 = Date.now();
  const failures = failureDigest();
  const lines = lineSplitter(prefix, (l) => {
    process.stdout.write(`${l}\n`);
    failures.push(l.slice(prefix.length));
  });
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (d: Buffer) => {
      out.write(d);
      lines.push(d.toString());
    });
  return new Promise((done) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      lines.end();
      out.end();
      done({ queue, code: code ?? (signal ? 128 + constants.signals[signal] : 1), seconds: Math.round((Date.now() - t0) / 1000), log, failures: failures.lines() });
    }),
  );
}

let stopping: NodeJS.Signals | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    stopping = signal;
    for (const child of running) process.kill(-child.pid!, signal);
  });

const outcomes = await Promise.all(queues.map(runQueue));
const wall = Math.round((Date.now() - started) / 1000);
process.stdout.write('\ne2e summary\n');
for (const o of outcomes)
  process.stdout.write(
    `  lab ${o.queue.slot}: ${o.code === 0 ? 'passed' : `FAILED (exit ${o.code})`} in ${o.seconds} s (~${o.queue.seconds} s alone), ${o.queue.files.length} files; whole output: ${o.log}\n`,
  );
process.stdout.write(`  wall time ${wall} s for ${files.length} files (~${queues.reduce((s, q) => s + q.seconds, 0)} s one after another)\n`);
for (const o of outcomes) if (o.failures.length) process.stdout.write(`\nlab ${o.queue.slot}, what failed:\n${o.failures.map((l) => `  ${l}`).join('\n')}\n`);
if (stopping) process.exit(128 + constants.signals[stopping]);
process.exit(outcomes.every((o) => o.code === 0) ? 0 : 1);
