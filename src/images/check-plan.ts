// Pure planners for the routine check's hook-ups: the scheduled job each checked pair needs (for `apply` to install)
// and the audit's verdict on a pair's last check (coverage, rot, discrepancies, a check that stopped running).
import type { ImagePair, Inventory } from '../inventory/types.js';
import { lastRuns, parseSchedule } from '../inventory/schedule.js';
import type { ImageRecord } from './record.js';
import { PROBLEMS } from './types.js';

/** How often a schedule fires, a day on average over the last week (at least one run a week counts). */
export function runsPerDay(schedule: string, now = new Date()): number | undefined {
  const s = parseSchedule(schedule);
  if (!s.ok) return undefined;
  const runs = lastRuns(s.cron, now, 7 * 24 * 60, 7).filter((d) => now.getTime() - d.getTime() < 7 * 86_400_000).length;
  return Math.max(runs, 1) / 7;
}

/** The prefix of the check jobs' names (units, cron files, scripts). */
export const CHECK_UNIT = 'ironclad-images-check-';

/** The unit (and file) name of a pair's job: '.' as '_' (cron ignores files named with a dot; the loader refuses twins). */
export const checkUnit = (pair: string) => `${CHECK_UNIT}${pair.replace(/\./g, '_')}`;

/** The scheduled routine check of a pair: on its replica's host, when (systemd OnCalendar, cron), under which name. */
export interface ImageCheckJob {
  pair: string;
  host: string; // the replica's host: it keeps the pair's record and coverage, and reaches the source over SSH
  onCalendar: string;
  cron: string;
  unit: string; // systemd unit / cron file / job name
}

/**
 * The jobs `apply` installs for the pairs that have `check:`, each on its replica's host: a POSIX sh script that runs
 * one check there as `images check NAME` would (src/images/check-job.ts); exit 3 (a discrepancy, rot, or coverage
 * short) runs the pair's alert command. A schedule ironclad cannot read was refused when the inventory was loaded.
 */
export function imageCheckJobs(inv: Pick<Inventory, 'images'>): ImageCheckJob[] {
  return inv.images.flatMap((pair) => {
    if (!pair.check) return [];
    const s = parseSchedule(pair.check.schedule);
    if (!s.ok) return [];
    return [{ pair: pair.name, host: pair.replica.host, onCalendar: s.onCalendar, cron: s.cron, unit: checkUnit(pair.name) }];
  });
}

/** The audit's verdict on a checked pair: level, one line, what to run. */
export interface CheckVerdict {
  level: 'ok' | 'warning' | 'failure';
  message: string;
  hints: string[];
}

const DAY = 86_400_000;

/**
 * Judge a pair's last record against its check: never run, rot on the source or discrepancies (failure), coverage
 * short of `days` counting the time since the run (failure), a run missed (warning: older than two of its intervals).
 * Undefined for a pair without `check:` (the audit's comparison verdict stands alone then).
 */
export function judgeCheck(pair: ImagePair, record: ImageRecord | null, now: Date): CheckVerdict | undefined {
  if (!pair.check) return undefined;
  const days = pair.check.days ?? 30;
  const run = [`run: ironclad images check ${pair.name}`];
  const cov = record?.coverage;
  if (!record || !cov) return { level: 'warning', message: 'the routine check has never run', hints: run };
  const since = (now.getTime() - Date.parse(record.at)) / DAY;
  const oldest = cov.oldest_days === null ? null : cov.oldest_days + since;
  if (record.counts.source_rot > 0)
    return { level: 'failure', message: `ROT ON THE SOURCE: ${record.counts.source_rot} file(s) changed while size and mtime did not`, hints: [`run: ironclad images compare ${pair.name} (the paths), then restore each from the replica: ironclad images repair REPLICA SOURCE --only PATH`] };
  const problems = PROBLEMS.filter((p) => record.counts[p] > 0).map((p) => `${record.counts[p]} ${p.replace('_', ' ')}`);
  if (problems.length) return { level: 'failure', message: `discrepancies at the last check: ${problems.join(', ')}`, hints: [`run: ironclad images repair ${pair.name}`] };
  if (oldest === null && cov.never && !cov.stale && since <= days)
    return { level: 'warning', message: `first cycle of the routine check under way: ${cov.text}`, hints: [] };
  if (oldest === null || oldest > days || cov.verified_fraction < 1)
    return { level: 'failure', message: `not every file verified within ${days} days (${oldest === null ? 'some never' : `oldest ${Math.floor(oldest)} days ago`})`, hints: run };
  const every = 1 / (runsPerDay(pair.check.schedule, now) ?? 1);
  const text = `100% verified within ${days} days, oldest ${Math.floor(oldest)} days ago`;
  if (since > 2 * every + 1 / 24) return { level: 'warning', message: `${text}; the last check ran ${Math.floor(since)} days ago (missed runs?)`, hints: run };
  return { level: 'ok', message: text, hints: [] };
}
