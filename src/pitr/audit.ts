// The audit's judgement of continuous archiving, pure: per archiving host, the recovery window the store reports (newest
// restorable time, archive lag, whether it still grows) and the slot on the database host (the WAL it keeps against
// max_slot_wal_keep_size: production's disk is never the price), and the last passing point-in-time restore drill.
import { ageText, finding } from '../audit/finding.js';
import type { Finding } from '../audit/types.js';
import { isoMs } from './restore-plan.js';
import type { DrillRead } from './drill-record.js';
import type { ClusterWindow } from './status.js';

/** What the audit gathered about one archiving host (null: that side could not be read). */
export interface PitrAuditInput {
  host: string;
  store: string;
  /** The store's view; null when the store did not answer, 'not audited' when it is outside --limit. */
  window: ClusterWindow | null | 'not audited';
  /** The slot on the database host; null when there is none, undefined when the server did not answer. */
  slot: { walStatus: string; retainedBytes: number | null } | null | undefined;
  /** max_slot_wal_keep_size of the inventory, e.g. '10GB'. */
  maxSlotWalKeepSize: string;
  stallSeconds: number;
}

const UNITS: Record<string, number> = { kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** PostgreSQL's size text ('10GB', '64MB', '512kB') in bytes; null when it is not one. */
export function sizeBytes(text: string): number | null {
  const m = /^(\d+)\s*(kB|MB|GB|TB)$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : null;
}

const mb = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GB` : `${(b / 1024 ** 2).toFixed(0)} MB`);
const AREA = 'backup' as const;

/** The findings of one archiving host: the window (red when it stopped growing, has a gap, or none exists), the lag,
 *  and the slot (red when production removed WAL the store had not received; a warning past 80% of its bound). */
export function judgePitr(input: PitrAuditInput): Finding[] {
  const { host, window: w } = input;
  const out: Finding[] = [];
  if (w === 'not audited') out.push(finding(host, AREA, 'pitr window', 'warning', `not judged: its store ${input.store} is not among the audited hosts (--limit)`));
  else if (!w) out.push(finding(host, AREA, 'pitr window', 'failure', `the recovery window could not be read from ${input.store}`));
  else {
    const why = [
      !w.receiver && 'the receiver is not running',
      w.stopped && `receiving stopped: ${w.stopped}`,
      w.gap && 'a gap in the WAL (take a base backup: ironclad pitr base --host ' + host + ')',
      !w.earliest && 'no base backup with its WAL whole',
      w.received_s !== null && w.received_s > input.stallSeconds && `no WAL for ${ageText(w.received_s * 1000)} (bound ${ageText(input.stallSeconds * 1000)})`,
      w.received_s === null && 'no WAL received yet',
    ].filter((x): x is string => Boolean(x));
    const range = w.earliest && w.latest ? `restorable from ${w.earliest} to ${w.latest}` : 'no recovery window';
    out.push(finding(host, AREA, 'pitr window', why.length ? 'failure' : 'ok', `${range} on ${input.store}${why.length ? `: ${why.join('; ')}` : ''}`, [`${w.bases} base backups, ${w.segments} WAL segments`]));
    if (w.lag_s !== null) out.push(finding(host, AREA, 'pitr lag', w.lag_s > input.stallSeconds ? 'warning' : 'ok', `newest restorable time ${w.latest}, ${ageText(w.lag_s * 1000)} behind the store's clock`));
  }
  const max = sizeBytes(input.maxSlotWalKeepSize);
  const slot = input.slot;
  if (slot === undefined) out.push(finding(host, AREA, 'pitr slot', 'warning', 'the slot could not be read (the server did not answer)'));
  else if (slot === null) out.push(finding(host, AREA, 'pitr slot', 'failure', 'no replication slot ironclad_pitr: the store receives nothing (run ironclad apply)'));
  else if (slot.walStatus === 'lost') out.push(finding(host, AREA, 'pitr slot', 'failure', `the slot lost WAL the store had not received (max_slot_wal_keep_size ${input.maxSlotWalKeepSize} reached): a gap until the next base backup`));
  else {
    const kept = slot.retainedBytes ?? 0;
    const high = max !== null && kept > 0.8 * max;
    out.push(finding(host, AREA, 'pitr slot', high || slot.walStatus === 'unreserved' ? 'warning' : 'ok', `the slot keeps ${mb(kept)} of WAL on ${host}${max !== null ? ` (bound ${input.maxSlotWalKeepSize})` : ''}${high ? ': the store is far behind' : ''}; wal_status ${slot.walStatus || 'unknown'}`));
  }
  return out;
}

/** Days without a passing point-in-time restore drill after which the audit is red. */
export const PITR_DRILL_DAYS = 8;

/** What the audit read of one archiving host's drill record. */
export interface PitrDrillInput {
  host: string;
  store: string;
  /** The store's record (src/pitr/drill-record.ts); null when the store did not answer, 'not audited' outside --limit. */
  read: DrillRead | null | 'not audited';
  /** When archiving of the host began, by the store's clock (its window's `since`, else its earliest restorable
   *  time); null when the store reports neither. A drill is due `days` days after it. */
  since: string | null;
  now: Date;
  days?: number;
}

/** The drill's finding: red when no drill passed in the last `days` days (default 8) once archiving is that old, or
 *  when the record is unusable or cannot be read; before that, a host never drilled is ok and told when a drill is
 *  due; a warning when the latest drill failed. Names the last pass (or never) and the fix. */
export function judgePitrDrill(input: PitrDrillInput): Finding {
  const { host, store, read, now } = input;
  const days = input.days ?? PITR_DRILL_DAYS;
  const fix = `run: ironclad pitr drill --host ${host}`;
  const red = (why: string, last = 'never') => finding(host, 'drill', 'pitr drill', 'failure', `no passing point-in-time restore drill of ${host} in the last ${days} days (last passed: ${last}): ${why}; ${fix}`, [fix]);
  if (read === 'not audited') return finding(host, 'drill', 'pitr drill', 'warning', `not judged: its store ${store} is not among the audited hosts (--limit)`);
  if (read === null) return red(`its drill record could not be read from ${store}`, 'unknown');
  if (read.kind === 'bad') return red(`the drill record on ${store} is unusable (${read.why})`);
  const latest = read.kind === 'record' && !read.passed ? `the latest, ${read.at}, failed` : '';
  const lastPassedAt = read.kind === 'record' ? read.lastPassedAt : null;
  if (lastPassedAt === null) {
    const began = input.since === null ? null : isoMs(input.since);
    const none = read.kind === 'none' ? `no drill recorded on ${store}` : latest;
    const due = began === null || began === undefined ? null : began + days * 86400_000;
    if (due !== null && now.getTime() > due) return red(`${none}; archiving began ${input.since}`);
    const when = due === null ? `due ${days} days after archiving begins` : `due by ${new Date(due).toISOString().slice(0, 19)}Z, ${days} days after archiving began`;
    return finding(host, 'drill', 'pitr drill', latest ? 'warning' : 'ok', `no point-in-time restore drill of ${host} has passed yet (${none}); one is ${when}; ${fix}`, [fix]);
  }
  const ageMs = Math.max(0, now.getTime() - isoMs(lastPassedAt)!);
  const last = `${lastPassedAt}, ${ageText(ageMs)} ago`;
  if (ageMs > days * 86400_000) return red(`due after ${days} days${latest ? `; ${latest}` : ''}`, last);
  if (latest) return finding(host, 'drill', 'pitr drill', 'warning', `point-in-time restore drill of ${host}: ${latest} (last passed: ${last}); ${fix}`, [fix]);
  return finding(host, 'drill', 'pitr drill', 'ok', `point-in-time restore drill of ${host} passed ${last}`);
}
