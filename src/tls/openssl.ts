// openssl on the controller, always as an argv (no shell, nothing built from data into a command line).
import { execFile } from 'node:child_process';
import { OperationError } from '../core/errors.js';
import { mask } from '../core/secrets.js';

/** Run `openssl ARGS...`; its stdout, or an OperationError naming the sub-command and the end of stderr. */
export function openssl(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd: opts.cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'openssl is not installed on this machine (apt-get install openssl)' : mask(String(stderr).trim().split('\n').slice(-4).join('\n'));
      reject(new OperationError(`openssl ${args[0]} failed: ${why}`));
    });
  });
}
