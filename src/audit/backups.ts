// Judging each database's backups: fresh against its schedule, no sudden drop in size or rows, a recent restore drill.
import type { BackupEntry } from '../backup/catalog.js';
import { humanBytes } from '../facts/render.js';
import type { BackupJobFact } from '../facts/types.js';
import { lastRuns, parseSchedule } from '../inventory/schedule.js';
import type { BackupSpec } from '../inventory/types.js';
import { ageText, finding } from './finding.js';
import type { BackupSeries, Finding } from './types.js';

/** A backup whose rows or bytes fell by more than this fraction since the one before is a sudden drop. */
export const DROP_LIMIT = 0.25;
/** A newest backup older than the last scheduled run by more than this is late (the job may still be running before). */
export const LATE_GRACE_MS = 2 * 3600_000;
/** A restore drill older than this is due again. */
export const DRILL_MAX_AGE_MS = 8 * 86400_000;

const fell = (now: number, before: number) => before > 0 && now < before * (1 - DROP_LIMIT);
const percent = (now: number, before: number) => `${Math.round((1 - now / before) * 100)}%`;

/** Pure: a database's backups, oldest first, each flagged when it dropped against the one before. */
export function backupSeries(host: string, database: string, entries: BackupEntry[]): BackupSeries {
  const mine = entries.filter((e) => e.host === host && e.database === database).sort((a, b) => a.time.localeCompare(b.time));
  const points = mine.map((e, i) => {
    const prev = mine[i - 1];
    const drop = prev !== undefined && (fell(e.rows, prev.rows) || fell(e.bytes, prev.bytes));
    return { id: e.id, time: e.time, bytes: e.bytes, rows: e.rows, tables: e.tables, verified: e.verified, verified_at: e.verified_at, drop };
  });
  return { host, database, points };
}

/** Is the newest backup as new as the schedule says it should be? */
export function judgeFreshness(host: string, spec: BackupSpec, s: BackupSeries, now: Date): Finding {
  const newest = s.points.at(-1);
  if (!newest) return finding(host, 'backup', s.database, 'failure', 'no backup in the store', [`run: ironclad backup run --host ${host}`]);
  const schedule = parseSchedule(spec.schedule);
  const runs = schedule.ok ? lastRuns(schedule.cron, now, 2) : [];
  const at = Date.parse(newest.time);
  const what = `newest backup ${newest.id} is ${ageText(now.getTime() - at)} old (${newest.rows} rows, ${humanBytes(newest.bytes)})`;
  if (runs[1] && at < runs[1].getTime())
    return finding(host, 'backup', s.database, 'failure', `STALE: ${what}; the schedule (${spec.schedule}) ran at least twice since`, [`scheduled runs missed: ${runs.map((r) => r.toISOString()).join(', ')}`]);
  if (runs[0] && at < runs[0].getTime() && now.getTime() - runs[0].getTime() > LATE_GRACE_MS)
    return finding(host, 'backup', s.database, 'warning', `late: ${what}; the run of ${runs[0].toISOString()} left none`);
  return finding(host, 'backup', s.database, 'ok', what);
}

/** Did the size or the rows fall suddenly? The newest backup dropping is a failure, an earlier drop a warning. */
export function judgeTrend(host: string, s: BackupSeries): Finding {
  const drops = s.points.flatMap((p, i) => (p.drop ? [[s.points[i - 1], p] as const] : []));
  const details = drops.map(([a, b]) => `${a.id} -> ${b.id}: rows ${a.rows} -> ${b.rows} (-${percent(b.rows, a.rows)}), size ${humanBytes(a.bytes)} -> ${humanBytes(b.bytes)}`);
  const first = s.points[0];
  const last = s.points.at(-1);
  if (!first || !last) return finding(host, 'trend', s.database, 'warning', 'no backups, no trend');
  const span = `${s.points.length} backups: rows ${first.rows} -> ${last.rows}, size ${humanBytes(first.bytes)} -> ${humanBytes(last.bytes)}`;
  if (last.drop) return finding(host, 'trend', s.database, 'failure', `SHRANK: the newest backup has fewer rows or bytes than the one before (more than ${DROP_LIMIT * 100}% less)`, details);
  if (drops.length) return finding(host, 'trend', s.database, 'warning', `${span}; earlier drop${drops.length > 1 ? 's' : ''} of more than ${DROP_LIMIT * 100}%`, details);
  return finding(host, 'trend', s.database, 'ok', s.points.length === 1 ? 'one backup so far, no trend yet' : `${span}, no sudden drop`);
}

/** When was a backup of this database last proven to restore? */
export function judgeDrill(host: string, s: BackupSeries, now: Date): Finding {
  const drilled = s.points.filter((p) => p.verified && p.verified_at).sort((a, b) => a.verified_at!.localeCompare(b.verified_at!)).at(-1);
  const fix = [`run: ironclad backup verify --host ${host} --latest --restore`];
  if (!drilled) return finding(host, 'drill', s.database, 'failure', 'no backup of this database has ever passed a restore drill', fix);
  const age = now.getTime() - Date.parse(drilled.verified_at!);
  const what = `last successful restore drill ${ageText(age)} ago (${drilled.id})`;
  return age > DRILL_MAX_AGE_MS ? finding(host, 'drill', s.database, 'warning', `${what}: due again`, fix) : finding(host, 'drill', s.database, 'ok', what);
}

/** The installed job's last run, as its status file tells. */
export function judgeJob(host: string, job: BackupJobFact): Finding {
  if (!job.installed) return finding(host, 'job', 'backup job', 'failure', 'the inventory asks for backups but no backup job is installed', ['run: ironclad apply']);
  const s = job.status;
  if (!s) return finding(host, 'job', 'backup job', 'warning', 'the backup job has never run');
  if (s.state !== 'ok') return finding(host, 'job', 'backup job', 'failure', `the last run (${s.time}) ${s.state.toUpperCase()} with exit ${s.exit}: ${s.message}`);
  return finding(host, 'job', 'backup job', 'ok', `last run ${s.time}: ${s.message || 'ok'}`);
}
