// A connector for this machine that runs `sh -c` with child_process directly: a local comparison or repair starts
// ~0.2 s sooner than through zx (src/connectors/local.ts imports it on first use), which matters on a small tree.
import { spawn } from 'node:child_process';
import { localConnector } from '../connectors/local.js';
import type { Connector, RunOptions, RunResult } from '../connectors/types.js';
import { mask } from '../core/secrets.js';

/** Run shell text here: stdout and stderr collected, stdin written (or closed), never thrown for a non-zero exit. */
export function runHere(host: string, script: string, opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs || undefined });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // a script that does not read its stdin
    child.on('error', (e) => err.push(Buffer.from(String(e.message))));
    child.on('close', (code, signal) => {
      const r = { host, command: mask(script), code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), durationMs: Date.now() - started };
      resolve(r);
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The local connector with `run` done by runHere (put, get, hold and close as src/connectors/local.ts does them). */
export function fastLocalConnector(host = 'localhost'): Connector {
  const base = localConnector(host);
  return { host, run: (script, opts) => runHere(host, script, opts), put: base.put, get: base.get, hold: base.hold, close: base.close };
}
