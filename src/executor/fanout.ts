// Bounded parallel work over hosts: one failing or slow host never stops the others' results.
import { HOSTS_AT_ONCE, limiter } from '../core/limiter.js';

export type HostOutcome<T> = { host: string; ok: true; value: T } | { host: string; ok: false; error: Error };

/** Run fn for every item with at most `limit` at once (default HOSTS_AT_ONCE); every outcome is returned in input order. */
export async function fanOut<I extends { name: string }, T>(items: I[], fn: (item: I) => Promise<T>, limit = HOSTS_AT_ONCE): Promise<HostOutcome<T>[]> {
  const slot = limiter(limit);
  return Promise.all(
    items.map((item) =>
      slot(() => fn(item)).then(
        (value): HostOutcome<T> => ({ host: item.name, ok: true, value }),
        (e: unknown): HostOutcome<T> => ({ host: item.name, ok: false, error: e instanceof Error ? e : new Error(String(e)) }),
      ),
    ),
  );
}
