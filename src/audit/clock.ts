// Judging a host's clock for the audit: whether a daemon keeps it in time, and how far it is from the controller's.
// Backup times, restore targets and retention rest on clocks: more than a few seconds off is red.
import type { HostOutcome } from '../executor/fanout.js';
import type { ClockOffset } from '../facts/clock-offset.js';
import type { ClockFact } from '../facts/clock.js';
import { ageText, finding } from './finding.js';
import type { Finding } from './types.js';

/** Further off than this is a failure; than this, a warning. */
export const CLOCK_FAILURE_MS = 5_000;
export const CLOCK_WARNING_MS = 1_000;

/** An offset in words: 340 ms, 4.2 s, 1 h. */
export function offsetText(ms: number): string {
  const a = Math.abs(ms);
  return a < 1000 ? `${a} ms` : a < 60_000 ? `${(a / 1000).toFixed(1)} s` : ageText(a);
}

const FIX = ['keep the clock in time: apt-get install chrony (or enable systemd-timesyncd), then check with chronyc tracking / timedatectl'];

/** Is a daemon keeping the clock in time? */
export function judgeSync(host: string, fact: ClockFact): Finding {
  const s = fact.sync;
  if (s.state === 'synchronised') return finding(host, 'clock', 'sync', 'ok', `synchronised by ${s.daemon} (${s.detail})`);
  if (s.state === 'unsynchronised') return finding(host, 'clock', 'sync', 'warning', `${s.daemon} runs but the clock is not synchronised: ${s.detail}`, FIX);
  return finding(host, 'clock', 'sync', 'warning', `unknown, no time sync daemon: ${s.detail}`, FIX);
}

/** How far the host's clock is from the controller's, with the measurement's uncertainty (half the round trip). */
export function judgeOffset(host: string, measured: HostOutcome<ClockOffset>): Finding {
  if (!measured.ok) return finding(host, 'clock', 'offset', 'warning', `could not measure: ${measured.error.message}`);
  const { offset_ms, rtt_ms } = measured.value;
  const half = Math.ceil(rtt_ms / 2);
  const side = offset_ms > 0 ? 'ahead of' : 'behind';
  const what = `${offsetText(offset_ms)} ${side} the controller's clock (± ${offsetText(half)})`;
  const low = Math.abs(offset_ms) - half;
  const high = Math.abs(offset_ms) + half;
  if (low > CLOCK_FAILURE_MS) return finding(host, 'clock', 'offset', 'failure', `OFF BY ${what}: backup times, restore targets and retention rest on it`, FIX);
  if (high > CLOCK_FAILURE_MS) return finding(host, 'clock', 'offset', 'warning', `${what}: the round trip is too long to tell whether it is within ${offsetText(CLOCK_FAILURE_MS)}`);
  if (Math.abs(offset_ms) > CLOCK_WARNING_MS) return finding(host, 'clock', 'offset', 'warning', what, FIX);
  return finding(host, 'clock', 'offset', 'ok', `within ${what.replace(` ${side}`, ' of')}`);
}

/** The clock lines of a host: sync (from the fact) and offset (measured), whichever were gathered. */
export function judgeClock(host: string, fact: ClockFact | undefined, measured: HostOutcome<ClockOffset> | undefined): Finding[] {
  return [...(fact ? [judgeSync(host, fact)] : []), ...(measured ? [judgeOffset(host, measured)] : [])];
}
