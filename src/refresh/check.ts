// After a restore: every table's rows against the backup's manifest, and the point in time the data represents.
import { countsAs, countSql, parseCounted, type Counting } from '../backup/counts.js';
import { SafetyRefusal } from '../core/errors.js';
import { incomingSession, sideNames, type Refresh, type StepRun } from './db.js';

/** Tables whose restored row count differs from the manifest (pure). */
export function rowMismatches(manifest: Record<string, number>, restored: Record<string, number>): string[] {
  const tables = [...new Set([...Object.keys(manifest), ...Object.keys(restored)])].sort();
  return tables.filter((t) => manifest[t] !== restored[t]).map((t) => `${t}: ${restored[t] ?? 'missing'} rows restored, the manifest says ${manifest[t] ?? 'none'}`);
}

/** Count every table's rows in the incoming copy (as the refresh role) and compare them with the backup's manifest,
 *  counted as the backup counted them; say which point in time the data represents. */
export async function checkRows(run: StepRun, r: Refresh, o: { rowCounts: Record<string, number>; counting: Counting; time: string; newestEvent?: string }): Promise<{ tables: number; rows: number; data_time: string }> {
  const { incoming } = sideNames(r.spec.to.database);
  const s = await incomingSession(run, r, incoming); // the restored copy, as the refresh role
  // the backup's own count query (each row once), the restored rows counted as the backup counted them
  const found = parseCounted((await s.sql(countSql())).find(([tag]) => tag === '@@counts'));
  if (!found) throw new SafetyRefusal(`the restored rows of ${incoming} could not be counted`);
  const bad = rowMismatches(o.rowCounts, countsAs(o.counting, found));
  if (bad.length) throw new SafetyRefusal(`the restored database does not match the backup's manifest:\n  - ${bad.join('\n  - ')}`);
  run.log(`${found.tables} tables, ${found.rows} rows, every row count as in the manifest`);
  run.log(`this data is as of ${o.time}${o.newestEvent ? ` (newest event ${o.newestEvent})` : ''}: anything after that must come from elsewhere (logs, other systems)`);
  return { tables: found.tables, rows: found.rows, data_time: o.time };
}
