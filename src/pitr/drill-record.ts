// A point-in-time drill's record as the store keeps it (ROOT/pitr/HOST/drill.json, written by `ironclad-pitr record`),
// read back for the audit and for the next drill's `last_passed_at`. Pure. The store's content is hostile: the record
// is checked field by field, and its times are only compared with this machine's clock, never shown unless they are
// times; nothing else of it reaches a message.
import { shq } from '../core/quote.js';
import { isoMs } from './restore-plan.js';

/** What the store holds for one host: nothing, something that is not a drill record of that host, or a record. */
export type DrillRead =
  | { kind: 'none' }
  | { kind: 'bad'; why: string }
  | { kind: 'record'; passed: boolean; at: string; lastPassedAt: string | null };

/** The most a record may be (the store's `record` verb keeps at most this much too). */
export const DRILL_RECORD_MAX = 65536;
/** How far in the future a recorded time may be (another controller's clock): beyond it, the time is not believed. */
const SKEW_MS = 5 * 60_000;

/** Pure: one record (drill.json's first line) for `host`, judged against `now`. Empty or absent: no drill recorded. */
export function parseDrillRecord(text: string | null | undefined, host: string, now: Date): DrillRead {
  if (text === null || text === undefined || !text.trim()) return { kind: 'none' };
  if (text.length > DRILL_RECORD_MAX) return { kind: 'bad', why: 'it is too long to be a drill record' };
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { kind: 'bad', why: 'it is not JSON' };
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return { kind: 'bad', why: 'it is not a drill record' };
  const r = j as Record<string, unknown>;
  if (r.host !== host) return { kind: 'bad', why: `it is not a record of ${host}` };
  if (typeof r.passed !== 'boolean') return { kind: 'bad', why: 'it does not say whether the drill passed' };
  const at = isoMs(r.at);
  if (at === null) return { kind: 'bad', why: 'its time is not a time' };
  if (at > now.getTime() + SKEW_MS) return { kind: 'bad', why: "its time is later than this machine's clock" };
  if (r.passed) return { kind: 'record', passed: true, at: r.at as string, lastPassedAt: r.at as string };
  if (r.last_passed_at === null || r.last_passed_at === undefined) return { kind: 'record', passed: false, at: r.at as string, lastPassedAt: null };
  const last = isoMs(r.last_passed_at);
  if (last === null) return { kind: 'bad', why: 'its last pass is not a time' };
  if (last > at) return { kind: 'bad', why: 'its last pass is later than its latest drill' };
  return { kind: 'record', passed: false, at: r.at as string, lastPassedAt: r.last_passed_at as string };
}

/** Pure: the last passing drill a read shows, or null (none, or nothing believable). */
export function lastPassedAt(read: DrillRead): string | null {
  return read.kind === 'record' ? read.lastPassedAt : null;
}

/** Shell text for the store: per host one line, `HOST<TAB>` and the first line of its drill.json (a regular file, not
 *  a link; at most DRILL_RECORD_MAX bytes, line ends removed), nothing after the tab when there is none. */
export function drillReadScript(root: string, hosts: string[]): string {
  return hosts
    .map((h) => {
      const dir = shq(`${root}/pitr/${h}`);
      const file = shq(`${root}/pitr/${h}/drill.json`);
      return `printf '%s\\t' ${shq(h)}; if [ ! -L ${dir} ] && [ -f ${file} ] && [ ! -L ${file} ]; then head -c ${DRILL_RECORD_MAX} ${file} | head -n 1 | tr -d '\\r\\n'; fi; echo`;
    })
    .join('\n');
}

/** Pure: the script's output, by host; only the hosts asked about, the first line of each (a host without a line is
 *  left out: its record could not be read). */
export function parseDrillReads(stdout: string, hosts: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const tab = line.indexOf('\t');
    const host = tab < 0 ? '' : line.slice(0, tab);
    if (hosts.includes(host) && !out.has(host)) out.set(host, line.slice(tab + 1));
  }
  return out;
}
