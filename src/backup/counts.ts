// Row counts, each row counted once: the one query that counts a database's rows (counts.sql: the backup job, the
// drill, a restore's check and report all run it), what it prints, and a backup's counts set beside a database's.
// Backups counted before (format of counts.json without `counting`) listed every partitioned or parent table with its
// children's rows as well; their counts are compared with a database's rebuilt the same way, never with a new total.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';

/** How the counts of a backup were taken: `leaf` (each table's own rows) or `parents` (before: children's rows again
 *  in every ancestor, partitioned tables listed). Written into counts.json as `"counting":"leaf"`. */
export type Counting = 'leaf' | 'parents';

/** What the count query found in one database. */
export interface Counted {
  tables: number;
  rows: number;
  counts: Record<string, number>;
  /** the total as backups counted before (each row once per table listed above it, and once itself) */
  parentsRows: number;
  /** each listed table's ancestors (`schema.table`), for the tables that have any */
  ancestors: Record<string, string[]>;
}

/** The count query (psql, `\gexec`): one line `@@counts TABLES ROWS COUNTS PARENTS_ROWS ANCESTORS`, tab-separated. */
export const countSql = (): string => readFileSync(join(packageRoot(), 'src', 'backup', 'counts.sql'), 'utf8').trim();

/** Pure: the fields of the query's line (`@@counts` first), or null when it is not one. JSON is PostgreSQL's own. */
export function parseCounted(fields: string[] | undefined): Counted | null {
  if (!fields || fields[0] !== '@@counts' || fields.length < 4) return null;
  const counts = JSON.parse(fields[3]) as Record<string, number>;
  const ancestors = (fields[5] ? JSON.parse(fields[5]) : {}) as Record<string, string[]>;
  const rows = Number(fields[2]);
  return { tables: Number(fields[1]), rows, counts: numbers(counts), parentsRows: fields[4] ? Number(fields[4]) : rows, ancestors };
}

/** Pure: the counting a backup's counts.json says (absent: before `leaf`). */
export function countingOf(counts: { counting?: unknown } | null | undefined): Counting {
  return counts?.counting === 'leaf' ? 'leaf' : 'parents';
}

/** Pure: a database's counts as a backup of `counting` lists them: as found, or rebuilt as before (every ancestor
 *  listed too, with the rows of all its descendants). */
export function countsAs(counting: Counting, found: Counted): Record<string, number> {
  if (counting === 'leaf') return { ...found.counts };
  const out: Record<string, number> = {};
  for (const [table, n] of Object.entries(found.counts)) {
    for (const name of [table, ...(found.ancestors[table] ?? [])]) out[name] = (out[name] ?? 0) + n;
  }
  return out;
}

/** Pure: an object of counts from JSON, every value a number. */
function numbers(counts: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([t, n]) => [t, Number(n)]));
}
