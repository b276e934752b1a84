// Scrub the restored copy, scan it for personal data left behind, promote the developer and tester accounts: each as
// the refresh role in the incoming database, each a gate on the rules as they are now (a changed file is never taken
// as done: the scan's proof names the rules it was made with, and the swap checks it).
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { checkFile } from '../inventory/load.js';
import { formatProblem } from '../inventory/problems.js';
import { incomingSession, type Refresh, type StepRun } from './db.js';
import { fakeKey } from './fakekey.js';
import { checkRules, piiFindings, piiRefusal, scanSummary } from './scan.js';
import { bindAccounts, rulesHash, scrubSql, type ScrubRules } from './scrub.js';

/** The scrub rules of a file, validated (UserError with every problem). */
export function rulesOf(file: string): ScrubRules {
  const { data, problems } = checkFile(file, 'scrub');
  if (problems.length) throw new UserError(`invalid scrub rules:\n${problems.map(formatProblem).join('\n')}`);
  return data as ScrubRules;
}

/** What a clean scan proves, for the swap: this database, scanned after a scrub by rules with this fingerprint (pure). */
export function scanProof(database: string, rules: ScrubRules): string {
  return `${database} scrubbed and scanned by rules ${rulesHash(rules)}`;
}

/** SQL that refreshes the populated materialized views, in the order they were made (pure): after a scrub, so that
 *  none keeps the rows as restored. */
export const REFRESH_MATVIEWS = "SELECT format('REFRESH MATERIALIZED VIEW %I.%I;', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm' AND c.relispopulated ORDER BY c.oid;";

/** Scrub the incoming copy by the refresh's rules as they are now, production's triggers off, then refresh its
 *  materialized views; nothing to do when the restore already scrubbed it by these rules (`scrubbed`: their hash),
 *  refused when it did so by other rules. */
export async function scrubIncoming(run: StepRun, r: Refresh, o: { database: string; scrubbed: string | undefined }): Promise<{ scrubbed: string }> {
  const rules = rulesOf(r.spec.scrub);
  const { database } = o;
  const hash = rulesHash(rules);
  if (o.scrubbed === hash) {
    run.log(`${database} was scrubbed by these rules while it was restored (before its indexes were built)`);
    return { scrubbed: hash };
  }
  if (o.scrubbed) throw new SafetyRefusal(`${r.spec.scrub} changed after the restore scrubbed ${database} by the rules as they were: the copy is discarded; run the refresh again (or --resume: it starts again from the copy)`);
  const s = await incomingSession(run, r, database);
  await checkRules(s.conn, r.target, database, rules, r.spec.scrub, s.login);
  await s.sql(scrubSql(rules, r.spec.promote?.accounts ?? [], await fakeKey(s.conn, r.target)));
  const views = (await s.sql(REFRESH_MATVIEWS)).map(([q]) => q);
  if (views.length) await s.sql(views.join('\n'));
  const fire = rules.fire_triggers?.length ? ` (but ${rules.fire_triggers.join(', ')}, whose triggers ran as ${s.login.role}, as the rules ask)` : '';
  run.log(`scrubbed ${Object.keys(rules.tables).length} tables with their triggers off${fire}${views.length ? `; ${views.length} materialized views refreshed from the scrubbed rows` : ''}`);
  return { scrubbed: hash };
}

/** Scan every column that can hold text of the incoming copy for personal data, after a scrub by the rules as they are
 *  now (`scrubbed`); nothing to scan again when the restore scanned it by these rules (`scanned`). The proof it returns
 *  is what the swap asks for. */
export async function scanIncoming(run: StepRun, r: Refresh, o: { database: string; scrubbed: string | undefined; scanned: string | undefined }): Promise<{ proof: string }> {
  const rules = rulesOf(r.spec.scrub);
  const { database } = o;
  const hash = rulesHash(rules);
  if (o.scrubbed !== hash) throw new SafetyRefusal(`${database} was not scrubbed by the rules as they are now in ${r.spec.scrub}: the copy is discarded; run the refresh again`);
  if (o.scanned === hash) {
    run.log(`${database} was scanned while its indexes were built: no personal data found`);
    return { proof: scanProof(database, rules) };
  }
  const s = await incomingSession(run, r, database);
  const catalog = await checkRules(s.conn, r.target, database, rules, r.spec.scrub, s.login);
  const findings = await piiFindings(s.conn, r.target, database, rules, catalog, s.login);
  if (findings.length) throw piiRefusal(findings, r.spec.scrub);
  run.log(`no personal data found in ${scanSummary(rules, catalog)}`);
  return { proof: scanProof(database, rules) };
}

/** Run the refresh's promote SQL for its listed developer and tester accounts in the incoming copy. */
export async function promoteAccounts(run: StepRun, r: Refresh, database: string): Promise<{ promoted: number } | undefined> {
  if (!r.spec.promote) return undefined;
  const sql = bindAccounts(r.spec.promote.sql, r.spec.promote.accounts).replace(/;\s*$/, '');
  const countable = /^\s*update\b/i.test(sql) && !/\breturning\b/i.test(sql);
  const s = await incomingSession(run, r, database);
  const rows = await s.sql(countable ? `${sql} RETURNING 1;` : `${sql};`).catch((e: Error) => {
    throw new OperationError(`promote.sql of refresh ${r.name} failed: ${e.message}`);
  });
  if (!countable) {
    run.log('promote SQL done');
    return undefined;
  }
  run.log(`promoted ${rows.length} of ${r.spec.promote.accounts.length} accounts`);
  if (rows.length < r.spec.promote.accounts.length) run.log(`WARNING: ${r.spec.promote.accounts.length - rows.length} listed accounts do not exist in this backup`);
  return { promoted: rows.length };
}
