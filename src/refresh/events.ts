// The latest events of the restored copy, read before the swap: how old its newest event is, loudly when it is stale
// (a backup that dumps the wrong instance, or stopped running, shows here).
import { sqlIdent } from '../core/quote.js';
import { parseDuration } from '../inventory/schedule.js';
import { incomingSession, type Refresh, type StepRun } from './db.js';
import { tableSql } from './names.js';

/** Print the refresh's `events` table's latest rows from `database` (the copy, as the refresh role) and the age of the
 *  newest; undefined when the refresh names no events table. */
export async function latestEvents(run: StepRun, r: Refresh, database: string): Promise<{ newest: string | null; age_seconds: number | null; stale: boolean } | undefined> {
  const e = r.spec.events;
  if (!e) return undefined;
  const s = await incomingSession(run, r, database);
  const q = sqlIdent;
  const rows = await s.sql(`SELECT ${e.columns.map(q).join(', ')} FROM ${tableSql(e.table)} ORDER BY ${q(e.time_column)} DESC LIMIT ${e.limit};`);
  const [[newest, age]] = await s.sql(`SELECT max(${q(e.time_column)}), extract(epoch FROM now() - max(${q(e.time_column)}))::bigint FROM ${tableSql(e.table)};`);
  const widths = e.columns.map((c, i) => Math.max(c.length, ...rows.map((row) => (row[i] ?? '').length)));
  run.log(e.columns.map((c, i) => c.padEnd(widths[i])).join('  '));
  for (const row of rows) run.log(row.map((v, i) => (v ?? '').padEnd(widths[i])).join('  '));
  const ageSeconds = Number(age);
  const limit = e.warn_older_than ? parseDuration(e.warn_older_than) : undefined;
  const stale = limit !== undefined && (!newest || ageSeconds > limit);
  run.log(`newest event: ${newest || 'none'} (${newest ? `${Math.round(ageSeconds / 3600)} h old` : 'the table is empty'})`);
  if (stale) run.log(`WARNING !!! the newest event is older than ${e.warn_older_than}: the backup is STALE. Check that backups run and that they dump the right instance.`);
  return { newest: newest || null, age_seconds: Number.isFinite(ageSeconds) ? ageSeconds : null, stale };
}
