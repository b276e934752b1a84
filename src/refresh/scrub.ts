// Scrub rules (schemas/scrub.schema.json) turned into SQL: keyed fakes, set, truncate, keep_where; one UPDATE per table.
// Tables are named as PostgreSQL spells them (`crm.Contacts`; a bare name is in public); see names.ts.
import { createHash } from 'node:crypto';
import { sqlIdent, sqlLiteral } from '../core/quote.js';
import { FAKE_PAD, keyStatements } from './fakekey.js';
import { tableKey, tableRegclass, tableSql } from './names.js';

export type ScrubRule = { fake: 'email' | 'name' | 'phone' | 'address' | 'text' | 'uuid'; keep_where?: string } | { set: string | number | boolean | null; keep_where?: string };
export interface ScrubRules {
  version: 1;
  tables: Record<string, 'truncate' | Record<string, ScrubRule>>;
  fire_triggers?: string[];
  verify?: { pii_scan?: string[]; pii_skip?: string[]; allow_email_domains?: string[] };
}

const FIRST = ['Alex', 'Sam', 'Robin', 'Kim', 'Jo', 'Max', 'Noor', 'Ari'];
const LAST = ['Example', 'Sample', 'Tester', 'Placeholder', 'Doe', 'Roe', 'Fictus', 'Nemo'];

/** SQL: the keyed SHA-256 (bytea) of a text value, with a label so that kinds never share a fake (pure):
 *  SHA-256(key block || label || ':' || value), the key block being the 64 bytes of fakekey.ts keyBlock. One SHA-256
 *  per value: PostgreSQL's sha256() sets up an OpenSSL context on every call, which is most of a scrub's CPU time (an
 *  HMAC is two calls). Secure for what a fake is for: without the key, no candidate value can be hashed to compare
 *  with a fake (the key is 256 random bits); and a fake uses at most 16 of the 32 bytes, so the hash's state never
 *  appears on staging (nothing to extend: SHA-256's length extension needs the whole digest). The key's block comes
 *  from the transaction's settings through pg_temp.ironclad_fake_pad (fakekey.ts keyStatements), an IMMUTABLE function
 *  that PostgreSQL computes once when it plans the statement (not on every row); it is never in a statement's text. */
export function keyedHashSql(label: string, text: string): string {
  return `sha256(${FAKE_PAD}('ironclad.fake_k') || convert_to(${sqlLiteral(`${label}:`)} || ${text}, 'UTF8'))`;
}

/** The fake first and last names: every pair, so that one byte of the hash picks both (64 names, each as likely). */
const NAMES = FIRST.flatMap((f) => LAST.map((l) => `${f} ${l}`));

/** The SQL expression of a keyed fake for a column's value (same input and key, same fake; NULL stays NULL). Every
 *  fake passes the PII scan: no 7-digit runs, emails in example.invalid, phone numbers in the fictional 555-01xx.
 *  The hash appears once in each expression: PostgreSQL computes an expression as often as it is written, and the hash
 *  is most of a scrub's CPU time. At most 16 bytes of it are used (a uuid; an email or a text 8, a name 1, an address
 *  2). */
export function fakeExpression(kind: Extract<ScrubRule, { fake: string }>['fake'], column: string): string {
  const c = `${sqlIdent(column)}::text`;
  const h = keyedHashSql(kind, c);
  const hex = (n: number) => `substr(encode(${h}, 'hex'), 1, ${n})`;
  const expr = {
    email: `'user-' || ${hex(16)} || '@example.invalid'`,
    name: `(ARRAY[${NAMES.map(sqlLiteral).join(', ')}])[1 + get_byte(${h}, 0) % ${NAMES.length}]`,
    phone: `'555-01' || lpad((get_byte(${h}, 0) % 100)::text, 2, '0')`,
    // the first two bytes of the hash as a number (0-65535): ('x' || 4 hex digits)::bit(16)::int
    address: `(1 + ('x' || ${hex(4)})::bit(16)::int % 999)::text || ' Example Street, Testville'`,
    text: `'redacted-' || translate(${hex(16)}, '0123456789', 'ghijklmnop')`,
    uuid: `encode(substring(${h} from 1 for 16), 'hex')::uuid`,
  }[kind];
  return `CASE WHEN ${sqlIdent(column)} IS NULL THEN NULL ELSE ${expr} END`;
}

/** SQL: true only for a text value `v` (an expression in the "C" collation) of a shape the rule's fake or constant
 *  takes, every value of which holds nothing scanValue finds (pure); undefined when there is no cheap test. The PII scan
 *  skips its regular expressions for these values (a kept original of another shape is scanned in full). A set value
 *  the scan would find something in gets no shape: the scan reports it. */
export function ruleValueShape(rule: ScrubRule, v: string, clean: (value: string) => boolean): string | undefined {
  if ('set' in rule) return rule.set === null || !clean(String(rule.set)) ? undefined : `${v} = ${sqlLiteral(String(rule.set))}`;
  switch (rule.fake) {
    case 'name': // one of the fixed names (letters only)
      return NAMES.every(clean) ? `${v} = ANY (ARRAY[${NAMES.map(sqlLiteral).join(', ')}])` : undefined;
    case 'address': // at most 3 bytes before the fixed street: no 7 digits, no email (a domain needs a dot)
      return `(octet_length(${v}) <= 29 AND ${v} LIKE '% Example Street, Testville')`;
    case 'phone': // 555-01 and 2 bytes: at most 555-01dd, a fictional number
      return `(octet_length(${v}) = 8 AND ${v} LIKE '555-01__')`;
    case 'email': // 16 bytes of any kind between fixed ends could hold an email: the full test
    case 'text':
    case 'uuid':
      return undefined;
  }
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

/** The tables the rules empty and the tables they rewrite, as `schema.table` keys. */
export function scrubTables(rules: ScrubRules): { truncated: string[]; updated: string[] } {
  const entries = Object.entries(rules.tables);
  return { truncated: entries.filter(([, r]) => r === 'truncate').map(([t]) => tableKey(t)), updated: entries.filter(([, r]) => r !== 'truncate').map(([t]) => tableKey(t)) };
}

/** The scrub of the given rules as statements: the truncates, and ONE UPDATE per table, so each table is rewritten once
 *  (keep_where conditions see the row as restored, before any rule changed it). Tables by their `schema.table` key. */
export function scrubPlan(rules: ScrubRules, accounts: string[]): { truncates: string[]; updates: { table: string; sql: string; values: { column: string; value: string }[] }[] } {
  return {
    truncates: scrubTables(rules).truncated.map((t) => `TRUNCATE TABLE ${tableSql(t)};`),
    updates: Object.entries(rules.tables).flatMap(([table, rule]) => {
      if (rule === 'truncate') return [];
      const values = scrubValues(rule, accounts);
      return [{ table: tableKey(table), sql: `UPDATE ${tableSql(table)} SET ${values.map((v) => `${sqlIdent(v.column)} = ${v.value}`).join(', ')};`, values }];
    }),
  };
}

/** The scrub statements for the given rules, without BEGIN/COMMIT: truncates first, then the updates. */
export function scrubStatements(rules: ScrubRules, accounts: string[]): string[] {
  const { truncates, updates } = scrubPlan(rules, accounts);
  return [...truncates, ...updates.map((u) => u.sql)];
}

/** Statements that switch the user triggers of the given tables off for one transaction and back to their own state
 *  after it (as the tables' owner: session_replication_role is for superusers), so that production's triggers never
 *  run for the scrub (pure). Triggers of a partitioned table are switched on the table (PostgreSQL recurses). */
export function triggersOff(tables: string[]): { off: string[]; on: string[] } {
  if (!tables.length) return { off: [], on: [] };
  const rels = tables.map((t) => `SELECT ${tableRegclass(t)} UNION SELECT relid FROM pg_partition_tree(${tableRegclass(t)})`).join(' UNION ');
  const each = (what: string) => `DO $ironclad$ DECLARE t record; BEGIN FOR t IN SELECT * FROM pg_temp.ironclad_triggers LOOP EXECUTE format('ALTER TABLE %I.%I %s TRIGGER %I', t.nspname, t.relname, ${what}, t.tgname); END LOOP; END $ironclad$;`;
  return {
    off: [
      `CREATE TEMP TABLE ironclad_triggers ON COMMIT DROP AS SELECT n.nspname, c.relname, g.tgname, g.tgenabled FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT g.tgisinternal AND g.tgparentid = 0 AND g.tgrelid IN (${rels});`,
      each("'DISABLE'"),
    ],
    on: [each("CASE t.tgenabled WHEN 'O' THEN 'ENABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' ELSE 'DISABLE' END")],
  };
}

/** The scrub transaction for the given rules, keyed by `keyHex`, with the user triggers of the tables it updates off
 *  (but those of the tables `fire_triggers` names). */
export function scrubSql(rules: ScrubRules, accounts: string[], keyHex: string): string {
  const { truncates, updates } = scrubPlan(rules, accounts);
  const fire = new Set((rules.fire_triggers ?? []).map((t) => tableKey(t)));
  const triggers = triggersOff(updates.map((u) => u.table).filter((t) => !fire.has(t)));
  return ['BEGIN;', ...keyStatements(keyHex), ...triggers.off, ...truncates, ...updates.map((u) => u.sql), ...triggers.on, 'COMMIT;'].join('\n');
}

/** A fingerprint of the rules (pure): what a scrub or scan was done by, so a changed file is never taken as done. */
export function rulesHash(rules: ScrubRules): string {
  return createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 16);
}
