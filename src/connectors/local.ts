// The local connector: runs shell text on this machine through zx.
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { mask } from '../core/secrets.js';
import type { Connector, RunOptions, RunResult } from './types.js';

/** A connector for this machine; `host` is the name used in reports. */
export function localConnector(host = 'localhost'): Connector {
  return {
    host,
    async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
      const started = Date.now();
      const { $ } = await import('zx'); // loaded on first use: most commands never run anything locally
      const p = $({ input: opts.stdin ?? '', nothrow: true, quiet: true, timeout: opts.timeoutMs })`sh -c ${script}`;
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
    async close() {},
  };
}
