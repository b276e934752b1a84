// After a restore: every table's rows against the backup's manifest, and the point in time the data represents.
import { countingOf, countsAs, countSql, parseCounted } from '../backup/counts.js';
import { SafetyRefusal } from '../core/errors.js';
import type { Action } from '../runbook/types.js';
import { incomingSession, refreshOf, sideNames } from './db.js';

/** Tables whose restored row count differs from the manifest (pure). */
export function rowMismatches(manifest: Record<string, number>, restored: Record<string, number>): string[] {
  const tables = [...new Set([...Object.keys(manifest), ...Object.keys(restored)])].sort();
  return tables.filter((t) => manifest[t] !== restored[t]).map((t) => `${t}: ${restored[t] ?? 'missing'} rows restored, the manifest says ${manifest[t] ?? 'none'}`);
}

export const checkRowsAction: Action = {
  name: 'restore.check_rows',
  summary: "compare every restored table's rows with the backup's manifest",
  describe: (p, ctx) => `count the rows of every table in ${sideNames(refreshOf(ctx.inv, p).spec.to.database).incoming} and compare with the manifest`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const s = await incomingSession(ctx, r, sideNames(r.spec.to.database).incoming); // the restored copy, as the refresh role
    // the backup's own count query (each row once), the restored rows counted as the backup counted them
    const found = parseCounted((await s.sql(countSql())).find(([tag]) => tag === '@@counts'));
    if (!found) throw new SafetyRefusal(`the restored rows of ${sideNames(r.spec.to.database).incoming} could not be counted`);
    const bad = rowMismatches((p.row_counts ?? {}) as Record<string, number>, countsAs(countingOf(p), found));
    if (bad.length) throw new SafetyRefusal(`the restored database does not match the backup's manifest:\n  - ${bad.join('\n  - ')}`);
    ctx.log(`${found.tables} tables, ${found.rows} rows, every row count as in the manifest`);
    ctx.log(`this data is as of ${String(p.time)}${p.newest_event ? ` (newest event ${String(p.newest_event)})` : ''}: anything after that must come from elsewhere (logs, other systems)`);
    return { tables: found.tables, rows: found.rows, data_time: p.time };
  },
};
