// Scrub the restored copy, scan it for personal data left behind, promote the developer and tester accounts.
import { createHash } from 'node:crypto';
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { fanOut } from '../executor/fanout.js';
import { sqlLiteral } from '../core/quote.js';
import { checkFile } from '../inventory/load.js';
import { formatProblem } from '../inventory/problems.js';
import type { Host } from '../inventory/types.js';
import type { Action } from '../runbook/types.js';
import { query, refreshOf } from './db.js';
import { candidateSql, redact, scanValue } from './pii.js';
import { bindAccounts, scrubMarker, scrubSql, scrubStatements, type ScrubRules } from './scrub.js';

/** The scrub rules of a file, validated (UserError with every problem). */
export function rulesOf(file: string): ScrubRules {
  const { data, problems } = checkFile(file, 'scrub');
  if (problems.length) throw new UserError(`invalid scrub rules:\n${problems.map(formatProblem).join('\n')}`);
  return data as ScrubRules;
}

export const scrubAction: Action = {
  name: 'refresh.scrub',
  summary: 'apply the scrub rules to the restored copy, in one transaction',
  describe: (p, ctx) => `scrub ${String(p.database ?? 'the restored copy')} by ${refreshOf(ctx.inv, p).spec.scrub}`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const rules = rulesOf(r.spec.scrub);
    const accounts = r.spec.promote?.accounts ?? [];
    const conn = await ctx.pool.get(r.target);
    const database = String(p.database);
    const found = await query(conn, r.target, 'postgres', `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${sqlLiteral(database)};`);
    if (!found.length) throw new OperationError(`${database} does not exist on ${r.target.name}: run the restore step first (ironclad runbook run --resume)`);
    const comment = found[0][1] ?? '';
    if (comment === scrubMarker(scrubStatements(rules, accounts))) {
      ctx.log(`${database} was scrubbed by these rules while it was restored (before its indexes were built)`);
      return;
    }
    await query(conn, r.target, database, scrubSql(rules, accounts));
    ctx.log(`scrubbed ${Object.keys(rules.tables).length} tables`);
  },
};

/** The scan for personal data in the tables the rules name: one line per column and kind found (none: clean). */
export async function piiFindings(conn: Connector, host: Host, database: string, rules: ScrubRules): Promise<string[]> {
  const allowed = rules.verify?.allow_email_domains ?? [];
  const scanTable = async (table: string): Promise<string[]> => {
    const cols = (await query(conn, host, database, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${sqlLiteral(table)} AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')`)).map(([c]) => c);
    if (!cols.length) return [];
    const hits = new Map<string, { count: number; example: string }>();
    for (const row of await query(conn, host, database, candidateSql(table, cols, 100000, allowed) + ';'))
      row.forEach((val, i) => {
        for (const h of scanValue(val ?? '', allowed)) {
          const key = `${table}.${cols[i] ?? cols[cols.length - 1]}: ${h.kind}`;
          hits.set(key, { count: (hits.get(key)?.count ?? 0) + 1, example: hits.get(key)?.example ?? redact(h.value) });
        }
      });
    return [...hits].map(([key, h]) => `${key} (${h.count} values, e.g. ${h.example})`);
  };
  const scanned = await fanOut((rules.verify?.pii_scan ?? []).map((name) => ({ name })), (t) => scanTable(t.name), 4); // 4 tables at once
  const broken = scanned.find((o) => !o.ok);
  if (broken && !broken.ok) throw broken.error;
  return scanned.flatMap((o) => (o.ok ? o.value : []));
}

/** The refusal when the scan found something. */
export function piiRefusal(findings: string[]): SafetyRefusal {
  return new SafetyRefusal(`personal data remains after scrubbing; the live staging database was not touched:\n  - ${findings.join('\n  - ')}\n  add scrub rules for these columns`);
}

/** What a clean scan proves, for the pii-scan step after it: this database, scanned by these rules' verify section. */
export function piiScanMark(rules: ScrubRules, database: string): string {
  return `${database} ${createHash('sha256').update(JSON.stringify(rules.verify ?? {})).digest('hex').slice(0, 16)}`;
}

export const piiScanAction: Action = {
  name: 'refresh.pii_scan',
  summary: 'fail before the swap when emails, phone or card numbers remain',
  describe: (p, ctx) => `scan ${(rulesOf(refreshOf(ctx.inv, p).spec.scrub).verify?.pii_scan ?? []).join(', ') || 'no tables'} for personal data`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const rules = rulesOf(r.spec.scrub);
    const database = String(p.database);
    const tables = (rules.verify?.pii_scan ?? []).join(', ');
    if (p.scanned && p.scanned === piiScanMark(rules, database)) {
      ctx.log(`${database} was scanned while its indexes were built: no personal data found in ${tables}`);
      return;
    }
    const findings = await piiFindings(await ctx.pool.get(r.target), r.target, database, rules);
    if (findings.length) throw piiRefusal(findings);
    ctx.log(`no personal data found in ${tables}`);
  },
};

export const promoteAction: Action = {
  name: 'refresh.promote',
  summary: 'make the listed developer and tester accounts admins',
  describe: (p, ctx) => `promote ${(refreshOf(ctx.inv, p).spec.promote?.accounts ?? []).join(', ') || 'nobody'}`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    if (!r.spec.promote) return;
    const sql = bindAccounts(r.spec.promote.sql, r.spec.promote.accounts).replace(/;\s*$/, '');
    const countable = /^\s*update\b/i.test(sql) && !/\breturning\b/i.test(sql);
    const rows = await query(await ctx.pool.get(r.target), r.target, String(p.database), countable ? `${sql} RETURNING 1;` : `${sql};`);
    if (!countable) {
      ctx.log('promote SQL done');
      return;
    }
    ctx.log(`promoted ${rows.length} of ${r.spec.promote.accounts.length} accounts`);
    if (rows.length < r.spec.promote.accounts.length) ctx.log(`WARNING: ${r.spec.promote.accounts.length - rows.length} listed accounts do not exist in this backup`);
    return { promoted: rows.length };
  },
};
