// Scrub rules (schemas/scrub.schema.json) turned into SQL: deterministic fakes, set, truncate, keep_where; one UPDATE per table.
import { createHash } from 'node:crypto';
import { sqlIdent, sqlLiteral } from '../core/quote.js';

export type ScrubRule = { fake: 'email' | 'name' | 'phone' | 'address' | 'text' | 'uuid'; keep_where?: string } | { set: string | number | boolean | null; keep_where?: string };
export interface ScrubRules {
  version: 1;
  tables: Record<string, 'truncate' | Record<string, ScrubRule>>;
  verify?: { pii_scan?: string[]; allow_email_domains?: string[] };
}

const FIRST = ['Alex', 'Sam', 'Robin', 'Kim', 'Jo', 'Max', 'Noor', 'Ari'];
const LAST = ['Example', 'Sample', 'Tester', 'Placeholder', 'Doe', 'Roe', 'Fictus', 'Nemo'];

/** The SQL expression of a deterministic fake for a column's value (same input, same fake; NULL stays NULL). */
export function fakeExpression(kind: Extract<ScrubRule, { fake: string }>['fake'], column: string): string {
  const c = `${sqlIdent(column)}::text`;
  const h = (salt: string) => `abs(hashtext(${c} || ${sqlLiteral(salt)}))`;
  const pick = (list: string[], salt: string) => `(ARRAY[${list.map(sqlLiteral).join(', ')}])[1 + ${h(salt)} % ${list.length}]`;
  const expr = {
    email: `'user-' || substr(md5(${c}), 1, 12) || '@example.invalid'`,
    name: `${pick(FIRST, 'first')} || ' ' || ${pick(LAST, 'last')}`,
    phone: `'555-01' || lpad((${h('phone')} % 100)::text, 2, '0')`,
    address: `(1 + ${h('street')} % 999)::text || ' Example Street, Testville'`,
    text: `'redacted-' || substr(md5(${c}), 1, 10)`,
    uuid: `md5(${c})::uuid`,
  }[kind];
  return `CASE WHEN ${sqlIdent(column)} IS NULL THEN NULL ELSE ${expr} END`;
}

/** Replace :accounts in a condition or statement with the listed accounts as a text array. */
export function bindAccounts(sql: string, accounts: string[]): string {
  return sql.replace(/:accounts\b/g, `ARRAY[${accounts.map(sqlLiteral).join(', ')}]::text[]`);
}

/** The new value of each column of one table's rules, as an SQL expression of the row as restored; a column with
 *  keep_where keeps its value where the condition holds. */
export function scrubValues(rule: Record<string, ScrubRule>, accounts: string[]): { column: string; value: string }[] {
  return Object.entries(rule).map(([column, r]) => {
    const value = 'fake' in r ? fakeExpression(r.fake, column) : r.set === null ? 'NULL' : sqlLiteral(String(r.set));
    return { column, value: r.keep_where ? `CASE WHEN coalesce((${bindAccounts(r.keep_where, accounts)}), false) THEN ${sqlIdent(column)} ELSE ${value} END` : value };
  });
}

/** The tables the rules empty and the tables they rewrite. */
export function scrubTables(rules: ScrubRules): { truncated: string[]; updated: string[] } {
  const entries = Object.entries(rules.tables);
  return { truncated: entries.filter(([, r]) => r === 'truncate').map(([t]) => t), updated: entries.filter(([, r]) => r !== 'truncate').map(([t]) => t) };
}

/** The scrub of the given rules as statements: the truncates, and ONE UPDATE per table, so each table is rewritten once
 *  (keep_where conditions see the row as restored, before any rule changed it). */
export function scrubPlan(rules: ScrubRules, accounts: string[]): { truncates: string[]; updates: { table: string; sql: string; values: { column: string; value: string }[] }[] } {
  return {
    truncates: scrubTables(rules).truncated.map((t) => `TRUNCATE TABLE ${sqlIdent(t)};`),
    updates: Object.entries(rules.tables).flatMap(([table, rule]) => {
      if (rule === 'truncate') return [];
      const values = scrubValues(rule, accounts);
      return [{ table, sql: `UPDATE ${sqlIdent(table)} SET ${values.map((v) => `${sqlIdent(v.column)} = ${v.value}`).join(', ')};`, values }];
    }),
  };
}

/** The scrub statements for the given rules, without BEGIN/COMMIT: truncates first, then the updates. */
export function scrubStatements(rules: ScrubRules, accounts: string[]): string[] {
  const { truncates, updates } = scrubPlan(rules, accounts);
  return [...truncates, ...updates.map((u) => u.sql)];
}

/** The scrub transaction for the given rules. */
export function scrubSql(rules: ScrubRules, accounts: string[]): string {
  return ['BEGIN;', ...scrubStatements(rules, accounts), 'COMMIT;'].join('\n');
}

/** The comment a database carries once scrubbed by these statements (the scrub step then has nothing left to do). */
export function scrubMarker(statements: string[]): string {
  return `ironclad scrubbed: ${createHash('sha256').update(statements.join('\n')).digest('hex').slice(0, 16)}`;
}
