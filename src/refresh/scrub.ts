// Scrub rules (schemas/scrub.schema.json) turned into one SQL transaction: deterministic fakes, set, truncate, keep_where.
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

/** The scrub transaction for the given rules: truncates first, then one UPDATE per table and keep_where. */
export function scrubSql(rules: ScrubRules, accounts: string[]): string {
  const statements: string[] = ['BEGIN;'];
  for (const [table, rule] of Object.entries(rules.tables)) {
    if (rule === 'truncate') {
      statements.push(`TRUNCATE TABLE ${sqlIdent(table)};`);
      continue;
    }
    const groups = new Map<string, string[]>();
    for (const [column, r] of Object.entries(rule)) {
      const value = 'fake' in r ? fakeExpression(r.fake, column) : r.set === null ? 'NULL' : sqlLiteral(String(r.set));
      const key = r.keep_where ?? '';
      groups.set(key, [...(groups.get(key) ?? []), `${sqlIdent(column)} = ${value}`]);
    }
    for (const [keep, sets] of groups)
      statements.push(`UPDATE ${sqlIdent(table)} SET ${sets.join(', ')}${keep ? ` WHERE NOT coalesce((${bindAccounts(keep, accounts)}), false)` : ''};`);
  }
  statements.push('COMMIT;');
  return statements.join('\n');
}
