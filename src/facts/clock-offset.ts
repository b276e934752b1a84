// How far a host's clock is from the controller's: the host's `date` read between two readings of the controller's
// clock, a few times over the open connection; the sample with the shortest round trip bounds the offset best.
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { parseReading } from './clock.js';
import type { HostFacts } from './types.js';

/** Offset of the host's clock from the controller's (positive: the host is ahead), give or take half the round trip. */
export interface ClockOffset {
  offset_ms: number;
  /** The round trip of the sample used: the true offset lies within offset_ms ± rtt_ms / 2. */
  rtt_ms: number;
  samples: number;
}

/** One sample, pure: the host read `hostSeconds` somewhere between the controller's `before` and `after` (ms). */
export function offsetOf(before: number, hostSeconds: number, after: number): { offset_ms: number; rtt_ms: number } {
  return { offset_ms: Math.round(hostSeconds * 1000 - (before + after) / 2), rtt_ms: after - before };
}

/** Measure a host's clock against this machine's (`samples` round trips of `date +%s.%N` through the host's PATH). */
export async function measureClock(conn: Connector, opts: { samples?: number; now?: () => number } = {}): Promise<ClockOffset> {
  const now = opts.now ?? (() => Date.now());
  const n = opts.samples ?? 3;
  let best: { offset_ms: number; rtt_ms: number } | null = null;
  for (let i = 0; i < n; i++) {
    const before = now();
    const r = await conn.run('date +%s.%N', { timeoutMs: 15_000 });
    const after = now();
    const reading = r.code === 0 ? parseReading(r.stdout) : null;
    if (reading === null) throw new OperationError(`${conn.host}: the clock could not be read (date +%s.%N: exit ${r.code}, '${r.stdout.trim().slice(0, 60)}')`);
    const s = offsetOf(before, reading, after);
    if (!best || s.rtt_ms < best.rtt_ms) best = s;
  }
  return { ...best!, samples: n };
}

/** The facts with the clock's offset from this machine measured in (when the clock fact was asked); a clock that
 *  cannot be read leaves the offset null, and the other facts stand. */
export async function withClockOffset<T extends HostFacts>(conn: Connector, facts: T): Promise<T> {
  const clock = (facts.facts as Partial<HostFacts['facts']>).clock;
  if (!clock) return facts;
  let offset: { offset_ms: number; rtt_ms: number } | null = null;
  try {
    const m = await measureClock(conn);
    offset = { offset_ms: m.offset_ms, rtt_ms: m.rtt_ms };
  } catch {
    offset = null;
  }
  return { ...facts, facts: { ...facts.facts, clock: { ...clock, offset } } };
}
