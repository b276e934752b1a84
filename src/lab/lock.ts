// One lab change at a time on this machine: a lock file holding the owner's pid (a dead owner's lock is taken over).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { OperationError } from '../core/errors.js';

/** True when a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(file: string): boolean {
  try {
    writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let owner: number;
  try {
    owner = Number(readFileSync(file, 'utf8').trim());
    if (!owner && Date.now() - statSync(file).mtimeMs < 5000) return false; // being written right now
  } catch {
    return false; // released meanwhile: try again
  }
  if (owner && pidAlive(owner)) return false;
  rmSync(file, { force: true });
  return false;
}

/** Run `fn` holding the lab lock; waits up to timeoutMs for another `lab up`/`down` to finish. */
export async function withLabLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  while (!tryLock(file)) {
    if (Date.now() > deadline) throw new OperationError(`lab: another lab command holds ${file}; try again when it is done`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
