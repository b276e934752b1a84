// The scrub done between data and indexes, as SQL (pure): one transaction per rewritten table, a one-pass rewrite by
// ALTER TABLE ... USING where PostgreSQL allows it, and whether the tables may be scrubbed in parallel.
import { sqlIdent } from '../core/quote.js';
import { keyStatements } from './fakekey.js';
import { tableKey, tableName, tableRegclass, tableSql } from './names.js';
import { scrubTables, type ScrubRules } from './scrub.js';

/** A column's type as ALTER COLUMN ... TYPE names it: `format_type`, and its collation when it has one. */
export interface ColumnType {
  type: string;
  collation?: string;
}

/** The transactions of the scrub done between data and indexes: the truncates, then one per rewritten table (run in
 *  parallel). Tables loaded UNLOGGED (no WAL for the rows the scrub replaces) become LOGGED again in their table's
 *  transaction; that rewrite also drops the replaced row versions.
 *  Such a table whose columns are all known (`columns`: plain tables without inheritance) and whose keep_where has no
 *  subquery gets `rewrite` too: ONE ALTER TABLE that sets it LOGGED and gives each scrubbed column its new value by
 *  `ALTER COLUMN ... TYPE (its own type) USING (the value)`: PostgreSQL copies the table once, computing the values
 *  from the row as restored, as the UPDATE does, instead of writing every row twice (UPDATE, then SET LOGGED). When
 *  PostgreSQL refuses it (a view uses a column, say), the UPDATE runs as before. */
export function scrubWhileRestoringSql(
  plan: { truncates: string[]; updates: { table: string; sql: string; values: { column: string; value: string }[] }[] },
  unlogged: string[],
  columns: Record<string, Record<string, ColumnType>> = {},
  keyHex = '00'.repeat(32),
): { truncates: string | undefined; updates: { table: string; sql: string; rewrite?: string }[] } {
  const tx = (statements: string[]) => ['BEGIN;', ...keyStatements(keyHex), ...statements, 'COMMIT;'].join('\n');
  const rewrite = (u: (typeof plan.updates)[number]): string | undefined => {
    const known = columns[u.table];
    if (!unlogged.includes(u.table) || !known || u.values.some((v) => !known[v.column] || /\bselect\b/i.test(v.value))) return undefined;
    const alters = u.values.map((v) => {
      const c = known[v.column];
      return `ALTER COLUMN ${sqlIdent(v.column)} TYPE ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''} USING ${v.value}`;
    });
    return tx([`ALTER TABLE ${tableSql(u.table)} SET LOGGED, ${alters.join(', ')};`]);
  };
  return {
    truncates: plan.truncates.length ? tx(plan.truncates) : undefined,
    updates: plan.updates.map((u) => ({ table: u.table, sql: tx([u.sql, ...(unlogged.includes(u.table) ? [`ALTER TABLE ${tableSql(u.table)} SET LOGGED;`] : [])]), rewrite: rewrite(u) })),
  };
}

/** The columns of the plain tables among `tables` (not typed, without inheritance), for scrubWhileRestoringSql. */
export const columnTypesSql = (tables: string[]) =>
  `SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), coalesce(quote_ident(cn.nspname) || '.' || quote_ident(co.collname), '') FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.reloftype = 0 AND NOT c.relhassubclass AND NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AND a.attnum > 0 AND NOT a.attisdropped AND c.oid IN (${tables.map(tableRegclass).join(', ')}) ORDER BY 1, a.attnum;`;

/** Rows of columnTypesSql by table and column (pure). */
export function columnTypes(rows: string[][]): Record<string, Record<string, ColumnType>> {
  const out: Record<string, Record<string, ColumnType>> = {};
  for (const [table, column, type, collation] of rows) (out[table] ??= {})[column] = collation ? { type, collation } : { type };
  return out;
}

// (tables, sequences, views: the indexes are built beside the scrub and take their table's persistence)

/** Run the per-table scrub transactions: at most `jobs` at once, one after another in the rules' order when a
 *  table's keep_where reads another table the scrub rewrites (its result must not depend on which commits first). */
export function scrubOrder(rules: ScrubRules, jobs: number): number {
  return keepWhereMatches(rules, scrubTables(rules).updated) ? 1 : Math.max(1, Math.min(jobs, 8));
}

/** Whether a keep_where names one of `tables` other than its own table (whatever its case), or matches `also`. */
function keepWhereMatches(rules: ScrubRules, tables: string[], also?: RegExp): boolean {
  const names = (table: string) => tables.filter((t) => t !== tableKey(table)).map((t) => new RegExp(`\\b${tableName(t).table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i'));
  return Object.entries(rules.tables).some(
    ([table, rule]) => rule !== 'truncate' && Object.values(rule).some((c) => c.keep_where && (also?.test(c.keep_where) || names(table).some((re) => re.test(c.keep_where!)))),
  );
}

/** Whether a keep_where reads more than its own table's rows: another of the dump's tables by name, or any subquery.
 *  The scrub of such rules waits until every table's data is loaded. */
export function keepWhereReadsOthers(rules: ScrubRules, tables: string[]): boolean {
  return keepWhereMatches(rules, tables, /\bselect\b/i);
}

