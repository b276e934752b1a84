// Pure: what a point-in-time restore needs from the store. The store's list (each base backup's backup.json, the WAL
// index) is read through the restoring host and treated as hostile: every field is checked before it becomes a name,
// a path or a number, and the choice of base and segments is made here, never by a script reading the list.
import { UserError } from '../core/errors.js';

/** A base backup as the store describes it (backup.json), checked. */
export interface BaseBackup {
  id: string;
  host: string;
  start_lsn: string;
  end_lsn: string;
  start_time: string;
  end_time: string;
  timeline: number;
  system_identifier: string;
  bytes: number;
}

/** One completed WAL segment of the store's index (`SEGMENT start_lsn end_lsn last_commit bytes`). */
export interface WalEntry {
  segment: string;
  last_commit: string | null; // ISO time of the segment's last commit, null when it holds none
  bytes: number;
}

/** What to restore to: the end of the archive (the partial segment included), or a time (inclusive). */
export type Target = { kind: 'latest' } | { kind: 'time'; text: string; ms: number } | { kind: 'point'; name: string; lsn: string; ms: number };

/** A restore point's name as the drill makes it (created on the database host with pg_create_restore_point). */
export const POINT_NAME = /^ironclad-drill-\d{8}T\d{6}Z$/;

export const BASE_ID = /^\d{8}T\d{6}Z$/;
export const SEGMENT = /^[0-9A-F]{24}$/;
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}:?\d{2})$/;

/** Parse --time: `latest`, or an ISO 8601 time with its zone (Z or +hh:mm); a time without a zone is ambiguous. */
export function parseTarget(text: string): Target {
  if (text === 'latest') return { kind: 'latest' };
  const m = ISO.exec(text);
  const ms = m ? Date.parse(text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
  if (!m || !Number.isFinite(ms)) throw new UserError(`--time ${JSON.stringify(text)} is not 'latest' nor an ISO 8601 time with its zone`, 'e.g. --time 2026-12-02T21:15:00Z (UTC) or --time latest');
  return { kind: 'time', text: text.replace(' ', 'T'), ms };
}

/** An ISO time from the store (second precision or finer, UTC or offset), as ms; null when it is not one. */
export function isoMs(value: unknown): number | null {
  if (typeof value !== 'string' || !ISO.test(value)) return null;
  const ms = Date.parse(value.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : null;
}

/** An LSN `X/Y` as a number of bytes. */
export function lsnValue(lsn: string): bigint {
  if (!LSN.test(lsn)) throw new Error(`not an LSN: ${JSON.stringify(lsn)}`);
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** The WAL segment file that holds `lsn` on timeline `tli`, for a segment size (a power of two, 1 MB to 1 GB). */
export function segmentOf(tli: number, lsn: string, segSize: number): string {
  return segmentName(tli, lsnValue(lsn) / BigInt(segSize), segSize);
}

/** The file name of segment number `segno`. */
export function segmentName(tli: number, segno: bigint, segSize: number): string {
  const perId = 0x100000000n / BigInt(segSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(tli) + hex(segno / perId) + hex(segno % perId);
}

/** The segment number and timeline of a segment file name. */
export function segmentNumber(name: string, segSize: number): { tli: number; segno: bigint } {
  if (!SEGMENT.test(name)) throw new Error(`not a WAL segment name: ${JSON.stringify(name)}`);
  const perId = 0x100000000n / BigInt(segSize);
  return { tli: parseInt(name.slice(0, 8), 16), segno: BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16)}`) };
}

/** A segment size PostgreSQL can have. */
export function validSegSize(n: number): boolean {
  return Number.isInteger(n) && n >= 1 << 20 && n <= 1 << 30 && (n & (n - 1)) === 0;
}

function checkBase(raw: unknown, host: string, where: string): BaseBackup {
  const b = raw as Record<string, unknown>;
  const bad = (field: string) => new Error(`${where}: field ${field} is missing or not valid (${JSON.stringify(b?.[field])?.slice(0, 60)})`);
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new Error(`${where}: not a JSON object`);
  if (typeof b.id !== 'string' || !BASE_ID.test(b.id)) throw bad('id');
  if (b.host !== host) throw bad('host');
  for (const f of ['start_lsn', 'end_lsn']) if (typeof b[f] !== 'string' || !LSN.test(b[f] as string)) throw bad(f);
  for (const f of ['start_time', 'end_time']) if (isoMs(b[f]) === null) throw bad(f);
  if (!Number.isInteger(b.timeline) || (b.timeline as number) < 1 || (b.timeline as number) > 0xffffffff) throw bad('timeline');
  if (!/^\d{1,20}$/.test(String(b.system_identifier))) throw bad('system_identifier');
  if (!Number.isSafeInteger(b.bytes) || (b.bytes as number) < 0) throw bad('bytes');
  if (lsnValue(b.end_lsn as string) < lsnValue(b.start_lsn as string)) throw bad('end_lsn');
  return { id: b.id, host, start_lsn: b.start_lsn as string, end_lsn: b.end_lsn as string, start_time: b.start_time as string, end_time: b.end_time as string, timeline: b.timeline as number, system_identifier: String(b.system_identifier), bytes: b.bytes as number };
}

/** Parse `pitr-list HOST` (the store's reader verb): `base {backup.json}`, `wal SEGMENT START END LAST_COMMIT BYTES`
 *  (the WAL index), `file NAME.gz.age` (what the archive holds), `partial SEGMENT LAST_COMMIT`. A segment counts only
 *  when the index lists it and its file is there. Anything else, or any field that is not what the contract says, is
 *  refused with its line number: nothing of the list is used then. */
export function parseList(text: string, host: string): { bases: BaseBackup[]; wal: WalEntry[]; partial: { segment: string; last_commit: string | null } | null; segSize: number | null } {
  const bases: BaseBackup[] = [];
  const sizes = new Set<bigint>(); // each index line's END - START: the host's segment size, as the store computed it
  const wal = new Map<string, WalEntry>();
  const files = new Set<string>();
  let partial: { segment: string; last_commit: string | null } | null = null;
  const commitOf = (v: string, where: string) => {
    if (v === '-' || v === 'null') return null;
    if (isoMs(v) === null) throw new Error(`${where}: the last commit time ${JSON.stringify(v.slice(0, 40))} is not an ISO time`);
    return v;
  };
  text.split('\n').forEach((line, i) => {
    const where = `the store's pitr list of ${host}, line ${i + 1}`;
    if (!line.trim()) return;
    const [kind] = line.split(' ', 1);
    const rest = line.slice(kind.length + 1);
    const f = rest.trim().split(/\s+/);
    switch (kind) {
      case 'base': {
        let parsed: unknown;
        try {
          parsed = JSON.parse(rest);
        } catch {
          throw new Error(`${where}: not JSON`);
        }
        bases.push(checkBase(parsed, host, where));
        return;
      }
      case 'wal':
        if (f.length !== 5 || !SEGMENT.test(f[0]) || !LSN.test(f[1]) || !LSN.test(f[2]) || !/^\d{1,12}$/.test(f[4])) throw new Error(`${where}: not a WAL index line (SEGMENT START_LSN END_LSN LAST_COMMIT BYTES)`);
        wal.set(f[0], { segment: f[0], last_commit: commitOf(f[3], where), bytes: Number(f[4]) });
        sizes.add(lsnValue(f[2]) - lsnValue(f[1]));
        return;
      case 'file':
        if (f.length !== 1 || !/^([0-9A-F]{24}|[0-9A-F]{8}\.history)\.gz\.age$/.test(f[0])) throw new Error(`${where}: not an archived file name`);
        files.add(f[0].replace(/\.gz\.age$/, ''));
        return;
      case 'partial':
        if (f.length < 1 || f.length > 2 || !SEGMENT.test(f[0])) throw new Error(`${where}: not a partial segment line`);
        partial = { segment: f[0], last_commit: commitOf(f[1] ?? '-', where) };
        return;
      default:
        throw new Error(`${where}: not a line of the pitr list (base, wal, file, partial)`);
    }
  });
  if (new Set(bases.map((b) => b.id)).size !== bases.length) throw new Error(`the store's pitr list of ${host} names a base backup twice`);
  const present = [...wal.values()].filter((w) => files.has(w.segment));
  const [size, ...more] = [...sizes];
  if (more.length || (size !== undefined && !validSegSize(Number(size)))) throw new Error(`the store's pitr list of ${host}: its WAL index lines do not span one segment size PostgreSQL has`);
  return { bases: bases.sort((a, b) => a.id.localeCompare(b.id)), wal: present.sort((a, b) => a.segment.localeCompare(b.segment)), partial, segSize: size === undefined ? null : Number(size) };
}

/** The base backup to start from: the newest that ended at or before the target (the newest of all for latest). */
export function chooseBase(bases: BaseBackup[], target: Target): BaseBackup | null {
  const fit = bases.filter((b) => (target.kind === 'time' ? isoMs(b.end_time)! <= target.ms : target.kind === 'point' ? lsnValue(b.end_lsn) <= lsnValue(target.lsn) : true));
  return fit.sort((a, b) => isoMs(a.end_time)! - isoMs(b.end_time)! || a.id.localeCompare(b.id)).pop() ?? null;
}

/** The segments a restore replays: from the base's first, in order without a gap, up to the first that holds a commit
 *  after the target (recovery stops at that commit), else to the end of the archive plus the partial segment. */
export interface WalPlan {
  segments: string[];
  /** The segment after the last completed one: fetched as the partial when the archive's end is needed. */
  partial: string | null;
  /** A problem that makes the restore impossible (a gap, the base's own WAL missing). */
  problem: string | null;
}

/** Plan the segments for `base` and `target` with the store's index. */
export function planWal(args: { base: BaseBackup; wal: WalEntry[]; segSize: number; target: Target }): WalPlan {
  const { base, segSize, target } = args;
  const tli = base.timeline;
  const have = new Map(args.wal.filter((w) => segmentNumber(w.segment, segSize).tli === tli).map((w) => [segmentNumber(w.segment, segSize).segno, w]));
  let segno = lsnValue(base.start_lsn) / BigInt(segSize);
  const endSeg = lsnValue(base.end_lsn) / BigInt(segSize);
  const pointSeg = target.kind === 'point' ? lsnValue(target.lsn) / BigInt(segSize) : -1n;
  const last = [...have.keys()].reduce((m, s) => (s > m ? s : m), -1n);
  const segments: string[] = [];
  for (; segno <= last; segno++) {
    const w = have.get(segno);
    const name = segmentName(tli, segno, segSize);
    if (!w) return { segments, partial: null, problem: `the archive has a gap: WAL segment ${name} is missing (the store's index goes on to ${segmentName(tli, last, segSize)})` };
    segments.push(name);
    if (target.kind === 'time' && segno >= endSeg && w.last_commit !== null && isoMs(w.last_commit)! > target.ms) return { segments, partial: null, problem: null };
    // a restore point's record may run into the next segment: that one too, when the archive has it
    if (target.kind === 'point' && segno >= endSeg && segno > pointSeg) return { segments, partial: null, problem: null };
  }
  // the end of the completed segments: the base's own WAL must be there at least up to its end's segment, less the partial
  if (endSeg > segno) return { segments, partial: null, problem: `the WAL of base backup ${base.id} is not complete in the archive (it ends in ${segmentName(tli, endSeg, segSize)}, the archive has ${segments.length ? segments[segments.length - 1] : 'none of it'})` };
  return { segments, partial: segmentName(tli, segno, segSize), problem: null };
}
