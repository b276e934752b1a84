// The local connector: runs shell text on this machine through zx.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { mask } from '../core/secrets.js';
import type { Connector, RunOptions, RunResult } from './types.js';

/** spawn, the command's stdin given a listener for its errors: a command that exits without reading all of its stdin
 *  makes zx's write of it fail (EPIPE), and that error without a listener would end this whole process. The command's
 *  exit code says what happened. */
const spawnQuietStdin = ((...args: Parameters<typeof spawn>) => {
  const child = spawn(...args);
  child.stdin?.on('error', () => undefined);
  return child;
}) as typeof spawn;

/** A connector for this machine; `host` is the name used in reports. */
export function localConnector(host = 'localhost'): Connector {
  const holding: ChildProcess[] = [];
  return {
    host,
    async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
      const started = Date.now();
      const { $ } = await import('zx'); // loaded on first use: most commands never run anything locally
      const p = $({ input: opts.stdin ?? '', nothrow: true, quiet: true, timeout: opts.timeoutMs, spawn: spawnQuietStdin })`sh -c ${script}`;
      const out = await p;
      return {
        host,
        command: mask(script),
        code: out.exitCode ?? (out.signal ? 128 : 1),
        stdout: out.stdout,
        stderr: out.stderr,
        durationMs: Date.now() - started,
      };
    },
    async put(path, content, mode) {
      await writeFile(path, content);
      if (mode !== undefined) await chmod(path, mode);
    },
    async get(path) {
      return readFile(path);
    },
    hold(script) {
      const started = Date.now();
      const child = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      holding.push(child);
      let out = '';
      let err = '';
      return new Promise((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString('utf8');
          if (out.includes('\n')) resolve(undefined);
        });
        child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
        child.on('close', (code) => resolve({ host, command: mask(script), code: code ?? 255, stdout: out, stderr: err, durationMs: Date.now() - started }));
      });
    },
    async close() {
      for (const child of holding.splice(0)) child.stdin?.end();
    },
  };
}
