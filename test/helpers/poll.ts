// Polling in tests that run real processes (the pitr store's receiver, its lock): wait for a condition read on this
// machine, with the caller's bound and pace.
import { setTimeout as sleep } from 'node:timers/promises';

/** Call `fn` every `everyMs` until it gives a value and return it; after `ms`, an Error naming `what` (with `diag()`'s
 *  text, read only then, to say why). */
export async function until<T>(what: string, fn: () => T | undefined | false, ms: number, diag: () => string = () => '', everyMs = 500): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${diag()}`);
    await sleep(everyMs);
  }
}
