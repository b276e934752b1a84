// The `ironclad` action: a runbook step that runs an ironclad command (the same code path as typing it).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import type { Action } from './types.js';

// (found from the package's root, not from this file: the CLI bundled in dist/bundle/ runs this code from there)
const BIN = join(packageRoot(), 'dist', 'scripts', 'ironclad.js');

export const cliAction: Action = {
  name: 'ironclad',
  summary: 'run an ironclad command with the same inventory (e.g. args: [apply, --limit, db-1])',
  describe: (p) => `ironclad ${(p.args as string[] | undefined)?.join(' ') ?? ''}`,
  async run(p, ctx) {
    const args = p.args;
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' || typeof a === 'number')) throw new UserError('the ironclad action takes args: a list of words');
    const argv = ['-i', ctx.inv.file, ...(ctx.flags.yes ? ['--yes'] : []), ...args.map(String)];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['inherit', 'pipe', 'pipe'] });
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        lines.forEach((l) => ctx.log(l));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (c) => {
        if (buf) ctx.log(buf);
        resolve(c ?? 1);
      });
    });
    if (code === 3) throw new SafetyRefusal(`ironclad ${args.join(' ')} found a problem or refused (exit 3)`);
    if (code !== 0) throw new OperationError(`ironclad ${args.join(' ')} failed (exit ${code})`);
  },
};
