// How long `pg_checksums --enable` keeps a cluster stopped: it reads and rewrites every page of the data directory,
// so the time is about its size over the disk's rate (measured on the host when the runbook runs, else assumed).
import { humanBytes } from '../facts/render.js';

/** A duration in words: 45 s, 3 min 20 s, 2 h 5 min. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/** The rate assumed before one is measured: a modest disk's sequential read while it also writes. */
export const ASSUMED_RATE = 100 * 1024 * 1024;

/** Seconds the cluster stays down for a data directory of `bytes` at `rate` bytes/s (read and write, plus a restart). */
export function downtimeSeconds(bytes: number, rate: number): number {
  return Math.ceil((2 * bytes) / Math.max(rate, 1)) + 10;
}

/** The estimate in words: `about 2 min for 4.0 GiB at 62 MiB/s (measured)`. */
export function checksumsDowntime(bytes: number | null, measured: number | null): string {
  if (bytes === null) return 'downtime unknown: the data directory could not be measured';
  const rate = measured ?? ASSUMED_RATE;
  return `about ${durationText(downtimeSeconds(bytes, rate))} of downtime for ${humanBytes(bytes)} at ${humanBytes(rate)}/s (${measured === null ? 'assumed' : 'measured'})`;
}

/** Pure: bytes/s from dd's summary line (`... copied, 0.5 s, 210 MB/s`): bytes over seconds. */
export function parseDdRate(stderr: string): number | null {
  const m = /(\d+) bytes[^\n]*?copied, ([\d.,]+) s/.exec(stderr);
  if (!m) return null;
  const secs = Number(m[2].replace(',', '.'));
  return secs > 0 ? Math.round(Number(m[1]) / secs) : null;
}
