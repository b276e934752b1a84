// restore-production's report, before the swap: the time the restored data represents (the backup's time and its
// newest event) and what came after it in the damaged database, read now if it can still be read, else the span; and
// what the restore left out (named, with why and how to restore each).
import { countsAs, countSql, parseCounted, type Counting } from '../backup/counts.js';
import { sqlRows } from '../connectors/sql.js';
import { sqlIdent, sqlLiteral } from '../core/quote.js';
import type { Host, Inventory } from '../inventory/types.js';
import { incomingSession, sideNames, type Refresh, type StepRun } from '../refresh/db.js';
import { leftOutLines, type LeftOut } from '../refresh/left-out.js';
import { sqlOn } from '../refresh/login.js';
import { tableSql } from '../refresh/names.js';
import { lossReport, tableChanges, type Damaged, type TableChange } from './names.js';

/** The events table and time column of a source database (pure): its backup's `events:`, else a refresh's from it. */
export function eventsOf(inv: Inventory, source: Host, database: string): { table: string; time_column: string } | undefined {
  return source.backup?.events ?? Object.values(inv.refresh).find((r) => r.from.host === source.name && r.from.database === database)?.events;
}

/** A session's start for reading a damaged database (pure): names resolved in pg_catalog only, read-only, bounded in
 *  time, as the database's owner (never as a superuser: the tables, and any view in their place, are the application's). */
export function damagedPreamble(timeout = '120s'): string {
  return [
    'SET search_path = pg_catalog, pg_temp;',
    `SET statement_timeout = ${sqlLiteral(timeout)};`,
    'SET default_transaction_read_only = on;',
    'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database() \\gset',
    'SET ROLE :"owner";',
  ].join('\n');
}

/** Read the damaged database (the source's, where it is now): its rows per table and its events after `newest`. */
async function readDamaged(ctx: Pick<StepRun, 'pool'>, host: Host, database: string, events: { table: string; time_column: string } | undefined, newest: string | null, backup: { counts: Record<string, number>; counting: Counting }): Promise<Damaged> {
  try {
    const conn = await ctx.pool.get(host);
    // the backup's own count query, as the owner (counts in one JSON field: a name with a tab or a newline cannot shift
    // a count onto another name), set beside the backup's counts as the backup counted them
    const found = parseCounted((await sqlRows(conn, sqlOn(host, database), `${damagedPreamble()}\n${countSql()}`)).find(([tag]) => tag === '@@counts'));
    if (!found) throw new Error('its rows could not be counted');
    const now = countsAs(backup.counting, found);
    let ev: { table: string; after: number; newest: string | null } | undefined;
    if (events) {
      const col = sqlIdent(events.time_column);
      const [[after, max]] = await sqlRows(conn, sqlOn(host, database), `${damagedPreamble()}\nSELECT count(*), max(${col})::text FROM ${tableSql(events.table)}${newest ? ` WHERE ${col} > ${sqlLiteral(newest)}` : ''};`);
      ev = { table: events.table, after: Number(after), newest: max || null };
    }
    return { readable: true, database, host: host.name, changes: tableChanges(backup.counts, now), events: ev };
  } catch (e) {
    return { readable: false, database, host: host.name, reason: (e as Error).message.split('\n')[0] };
  }
}

/** What the restored data represents and what came after it (restoreReport's output). */
export interface Reported {
  data_time: string;
  newest_event: string | null;
  damaged_readable: boolean;
  lost: string;
  changes: TableChange[] | null;
  events_after: number | null;
  /** The publications and memberships restored (as a plain role, the owner's after the swap). */
  publications: string[];
  /** What the restore left out (event triggers, subscriptions, publications only a superuser makes): why, and how the
   *  operator restores each after reading it. */
  left_out: LeftOut[];
}

/** Say what time the restored copy represents (the backup's time, its newest event, read as the refresh role: the copy
 *  is not in service yet) and what came after it in the damaged database (read as its owner), or the span when it
 *  cannot be read. */
export async function restoreReport(ctx: StepRun, inv: Inventory, r: Refresh, o: { id: string; time: string; newestEvent: string | null; rowCounts: Record<string, number>; counting: Counting; leftOut: LeftOut[]; publications: string[] }): Promise<Reported> {
  const events = eventsOf(inv, r.source, r.spec.from.database);
  let newest = o.newestEvent;
  if (events) {
    const s = await incomingSession(ctx, r, sideNames(r.spec.to.database).incoming);
    const [[max]] = await s.sql(`SELECT max(${sqlIdent(events.time_column)})::text FROM ${tableSql(events.table)};`).catch(() => [[newest ?? '']]);
    newest = max || newest;
  }
  const damaged = await readDamaged(ctx, r.source, r.spec.from.database, events, newest, { counts: o.rowCounts, counting: o.counting });
  const { lines, lost } = lossReport({ id: o.id, time: o.time, newestEvent: newest, eventsTable: events ? `${events.table}.${events.time_column}` : undefined, damaged, now: new Date() });
  [...lines, ...leftOutLines(o.leftOut, o.publications)].forEach((l) => ctx.log(l));
  return { data_time: o.time, newest_event: newest, damaged_readable: damaged.readable, lost, changes: damaged.readable ? damaged.changes : null, events_after: damaged.readable ? (damaged.events?.after ?? null) : null, publications: o.publications, left_out: o.leftOut };
}
