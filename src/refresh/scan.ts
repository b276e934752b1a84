// The scan for personal data, default-deny: every column that can hold text (text-like types, citext, json/jsonb, xml,
// arrays, domains and composites over them) of every table and materialized view in every schema of the restored
// database. `verify.pii_skip` narrows it only by naming tables; every name in the rules must be in the catalog.
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { fanOut } from '../executor/fanout.js';
import type { Host } from '../inventory/types.js';
import { sqlOn } from './login.js';
import { tableKey, tableLabel, tableName } from './names.js';
import { candidateSql, redact, scanValue } from './pii.js';
import { ruleValueShape, type ScrubRules } from './scrub.js';
import { sqlRows, type Login } from '../connectors/sql.js';

/** The relations of the user's schemas with each column and whether its type can hold text: (schema, name, relkind
 *  ('-' for a materialized view not populated yet), column or '', t/f). Domains, arrays and composite types are followed down to their base types. */
export const CATALOG_SQL = `WITH RECURSIVE textlike(oid) AS (
  SELECT t.oid FROM pg_type t WHERE t.typcategory = 'S' OR t.typname IN ('json', 'jsonb', 'xml', 'tsvector', 'hstore', 'ltree')
  UNION
  SELECT e.parent FROM textlike x JOIN (
    SELECT oid AS parent, typbasetype AS child FROM pg_type WHERE typtype = 'd'
    UNION ALL SELECT oid, typelem FROM pg_type WHERE typcategory = 'A' AND typelem <> 0
    UNION ALL SELECT t.oid, a.atttypid FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid WHERE t.typtype = 'c' AND a.attnum > 0 AND NOT a.attisdropped
  ) e ON e.child = x.oid
)
SELECT n.nspname, c.relname, CASE WHEN c.relkind = 'm' AND NOT c.relispopulated THEN '-' ELSE c.relkind::text END, coalesce(a.attname, ''), coalesce(a.atttypid IN (SELECT oid FROM textlike), false)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relkind IN ('r', 'p', 'm', 'v', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
 ORDER BY 1, 2, a.attnum;`;

/** A relation of the restored database and its columns. */
export interface Relation {
  kind: string;
  columns: string[];
  textColumns: string[];
}

/** Rows of CATALOG_SQL by `schema.table` key (pure). */
export function catalogOf(rows: string[][]): Map<string, Relation> {
  const out = new Map<string, Relation>();
  for (const [schema, table, kind, column, text] of rows) {
    const key = tableKey({ schema, table });
    const rel = out.get(key) ?? { kind, columns: [], textColumns: [] };
    if (column) rel.columns.push(column);
    if (column && text === 't') rel.textColumns.push(column);
    out.set(key, rel);
  }
  return out;
}

/** Every name of the rules that the restored database does not have, each with a hint (pure). */
export function ruleProblems(rules: ScrubRules, catalog: Map<string, Relation>): string[] {
  const like = (name: string) => {
    const t = tableName(name).table.toLowerCase();
    const near = [...catalog.keys()].filter((k) => tableName(k).table.toLowerCase() === t).map(tableLabel);
    return near.length ? ` (did you mean ${near.join(' or ')}? names are case-sensitive, schema.table)` : '';
  };
  const problems: string[] = [];
  for (const [name, rule] of Object.entries(rules.tables)) {
    const rel = catalog.get(tableKey(name));
    if (!rel || !['r', 'p'].includes(rel.kind)) {
      problems.push(`tables.${name}: no table ${tableKey(name)} in the restored database${like(name)}`);
      continue;
    }
    if (rule === 'truncate') continue;
    for (const column of Object.keys(rule))
      if (!rel.columns.includes(column)) {
        const near = rel.columns.filter((c) => c.toLowerCase() === column.toLowerCase());
        problems.push(`tables.${name}.${column}: ${tableKey(name)} has no column ${column}${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}`);
      }
  }
  for (const list of ['pii_scan', 'pii_skip'] as const)
    for (const name of rules.verify?.[list] ?? []) if (!catalog.has(tableKey(name))) problems.push(`verify.${list}: no table ${tableKey(name)} in the restored database${like(name)}`);
  for (const name of rules.fire_triggers ?? []) if (!catalog.has(tableKey(name))) problems.push(`fire_triggers: no table ${tableKey(name)} in the restored database${like(name)}`);
  return problems;
}

/** The catalog of the restored database, refused (exit 2) when the rules name what it does not have. */
export async function checkRules(conn: Connector, host: Host, database: string, rules: ScrubRules, file: string, login: Login): Promise<Map<string, Relation>> {
  const catalog = catalogOf(await sqlRows(conn, sqlOn(host, database, login), CATALOG_SQL));
  const problems = ruleProblems(rules, catalog);
  if (problems.length) throw new UserError(`the scrub rules ${file} do not match the restored database (nothing was swapped):\n  - ${problems.join('\n  - ')}`, 'fix the names (as PostgreSQL spells them: schema.table, case-sensitive), then resume the run');
  return catalog;
}

/** What the scan reads (pure): every table (partitions, not their parents) and populated materialized view with a
 *  column that can hold text, but those `verify.pii_skip` names. */
export function scanTargets(rules: ScrubRules, catalog: Map<string, Relation>): { table: string; columns: string[] }[] {
  const skip = new Set((rules.verify?.pii_skip ?? []).map((t) => tableKey(t)));
  return [...catalog].filter(([key, rel]) => ['r', 'm'].includes(rel.kind) && rel.textColumns.length && !skip.has(key)).map(([table, rel]) => ({ table, columns: rel.textColumns }));
}

/** The columns the rules rewrite, as `schema.table.column` (pure). */
function ruled(rules: ScrubRules): Set<string> {
  return new Set(Object.entries(rules.tables).flatMap(([t, r]) => (r === 'truncate' ? [] : Object.keys(r).map((c) => `${tableKey(t)}.${c}`))));
}

/** Scan the restored database as the refresh role: one line per column and kind found (none: clean), naming schema,
 *  table, column, kind, count and an example masked. */
export async function piiFindings(conn: Connector, host: Host, database: string, rules: ScrubRules, catalog: Map<string, Relation>, login: Login): Promise<string[]> {
  const allowed = rules.verify?.allow_email_domains ?? [];
  const withRule = ruled(rules);
  const scanTable = async ({ table, columns }: { table: string; columns: string[] }): Promise<string[]> => {
    const hits = new Map<string, { count: number; example: string; column: string }>();
    const rule = Object.entries(rules.tables).find(([name]) => tableKey(name) === table)?.[1];
    const clean = (value: string) => scanValue(value, allowed).length === 0;
    const shapes = Object.fromEntries(rule && rule !== 'truncate' ? Object.entries(rule).map(([c, r]) => [c, (v: string) => ruleValueShape(r, v, clean)]) : []);
    for (const row of await sqlRows(conn, sqlOn(host, database, login), candidateSql(table, columns, 100000, allowed, shapes) + ';')) {
      if (row.length !== columns.length) throw new OperationError(`${host.name}: the scan of ${table} returned ${row.length} fields for ${columns.length} columns`);
      row.forEach((val, i) => {
        const column = columns[i];
        for (const h of scanValue(val ?? '', allowed)) {
          const key = `${table}.${column}: ${h.kind}`;
          hits.set(key, { count: (hits.get(key)?.count ?? 0) + 1, example: hits.get(key)?.example ?? redact(h.value), column: `${table}.${column}` });
        }
      });
    }
    return [...hits].map(([key, h]) => `${key} (${h.count} values, e.g. ${h.example})${withRule.has(h.column) ? ' [this column has a rule: its keep_where keeps these, or its set value is one]' : ''}`);
  };
  const scanned = await fanOut(scanTargets(rules, catalog).map((t) => ({ name: t.table, ...t })), scanTable, 4); // 4 tables at once
  const broken = scanned.find((o) => !o.ok);
  if (broken && !broken.ok) throw broken.error;
  return scanned.flatMap((o) => (o.ok ? o.value : []));
}

/** The refusal when the scan found something. */
export function piiRefusal(findings: string[], file: string): SafetyRefusal {
  return new SafetyRefusal(`personal data remains after scrubbing; the live database was not touched:\n  - ${findings.join('\n  - ')}\n  add scrub rules for these columns to ${file} (or, for a table that holds none, name it in verify.pii_skip), then run the refresh again`);
}

/** A one-line summary of what a scan read (pure). */
export function scanSummary(rules: ScrubRules, catalog: Map<string, Relation>): string {
  const targets = scanTargets(rules, catalog);
  const skipped = rules.verify?.pii_skip ?? [];
  return `${targets.reduce((n, t) => n + t.columns.length, 0)} columns of ${targets.length} tables in ${new Set(targets.map((t) => tableName(t.table).schema)).size} schemas${skipped.length ? ` (skipped by verify.pii_skip: ${skipped.join(', ')})` : ''}`;
}

/** The catalog's materialized views not populated yet (pure): the restore scans them once its post-data made them. */
export function unpopulated(catalog: Map<string, Relation>): string[] {
  return [...catalog].filter(([, rel]) => rel.kind === '-').map(([key]) => key);
}
