// After a restore: every table's rows against the backup's manifest, and the point in time the data represents.
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
    const gen = await s.sql("SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1;");
    const counts = gen.length ? await s.sql(gen.map(([q]) => q).join(' UNION ALL ') + ';') : [];
    const restored = Object.fromEntries(counts.map(([t, n]) => [t, Number(n)]));
    const bad = rowMismatches((p.row_counts ?? {}) as Record<string, number>, restored);
    if (bad.length) throw new SafetyRefusal(`the restored database does not match the backup's manifest:\n  - ${bad.join('\n  - ')}`);
    ctx.log(`${counts.length} tables, every row count as in the manifest`);
    ctx.log(`this data is as of ${String(p.time)}${p.newest_event ? ` (newest event ${String(p.newest_event)})` : ''}: anything after that must come from elsewhere (logs, other systems)`);
    return { tables: counts.length, data_time: p.time };
  },
};
