// Restore a backup beside the live database, in parallel. With scrub rules, the scrub happens while restoring: tables
// are loaded without their indexes and constraints, the scrub rewrites them once, then indexes and constraints are built
// on the scrubbed rows. Much cheaper than a scrub after a full restore, which updates every index entry of every row.
import { OperationError, UserError } from '../core/errors.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { fanOut } from '../executor/fanout.js';
import { tail } from '../executor/run.js';
import type { Host } from '../inventory/types.js';
import type { Action } from '../runbook/types.js';
import { query, refreshOf, sideNames } from './db.js';
import { scrubMarker, scrubPlan, scrubStatements, scrubTables, type ScrubRules } from './scrub.js';
import { rulesOf } from './transform.js';

/** A pg_restore table of contents (`pg_restore -l`) without the data of the given public tables (pure). */
export function withoutDataOf(list: string, tables: string[]): string {
  const skip = new Set(tables);
  return list
    .split('\n')
    .filter((line) => {
      const m = /^\d+; \d+ \d+ TABLE DATA public (\S+) /.exec(line);
      return !(m && skip.has(m[1]));
    })
    .join('\n');
}

/** The transactions of the scrub done between data and indexes: the truncates, then one per rewritten table (run in
 *  parallel). Tables loaded UNLOGGED (no WAL for the rows the scrub replaces) become LOGGED again in their table's
 *  transaction; that rewrite also drops the replaced row versions. */
export function scrubWhileRestoringSql(plan: { truncates: string[]; updates: { table: string; sql: string }[] }, unlogged: string[]): { truncates: string | undefined; updates: string[] } {
  const tx = (statements: string[]) => ['BEGIN;', ...statements, 'COMMIT;'].join('\n');
  return {
    truncates: plan.truncates.length ? tx(plan.truncates) : undefined,
    updates: plan.updates.map((u) => tx([u.sql, ...(unlogged.includes(u.table) ? [`ALTER TABLE ${sqlIdent(u.table)} SET LOGGED;`] : [])])),
  };
}

const PERSISTENCE = "SELECT c.oid::regclass::text || ':' || c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1;";

interface Restore {
  conn: Connector;
  host: Host;
  database: string;
  owner: string;
  dump: string;
  jobs: number | string;
  maintenanceWorkMem: string;
}

async function pgRestore(r: Restore, args: string, what: string): Promise<void> {
  const env = `PGOPTIONS='-c maintenance_work_mem=${r.maintenanceWorkMem} -c work_mem=64MB'`; // index builds, constraint checks
  const res = await r.conn.run(`cd / && su postgres -s /bin/sh -c ${shq(`${env} pg_restore -p ${r.host.postgres!.port} -d ${r.database} -j ${r.jobs} --no-owner --no-acl --role=${r.owner} --exit-on-error ${args} ${shq(r.dump)}`)}`);
  if (res.code !== 0) throw new OperationError(`pg_restore (${what}) into ${r.database} on ${r.host.name} failed (exit ${res.code}); the live database is untouched\n${tail(res.stderr || res.stdout)}`);
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** What in a dump's post-data would act on the rows the scrub rewrites (triggers, rules, keys that cascade updates):
 *  scrubbing before those exist would skip them, so such a dump is restored whole and scrubbed after. */
export const ACTS_ON_UPDATES = /^CREATE (?:CONSTRAINT )?TRIGGER |^CREATE (?:OR REPLACE )?RULE |ON UPDATE CASCADE/m;

/** Why a dump must be restored whole before its scrub, or undefined when scrubbing between data and indexes is safe. */
async function scrubBeforeIndexesUnsafe(r: Restore): Promise<string | undefined> {
  const post = await r.conn.run(`pg_restore --section=post-data -f - ${shq(r.dump)}`);
  if (post.code !== 0) throw new OperationError(`pg_restore --section=post-data ${r.dump} on ${r.host.name} failed (exit ${post.code})\n${tail(post.stderr)}`);
  const m = ACTS_ON_UPDATES.exec(post.stdout);
  return m ? `the dump has ${m[0].trim()} definitions, which must see the scrub` : undefined;
}

/** Run the per-table scrub transactions: at most `jobs` at once, one after another in the rules' order when a
 *  table's keep_where reads another table the scrub rewrites (its result must not depend on which commits first). */
export function scrubOrder(rules: ScrubRules, jobs: number): number {
  const rewritten = scrubTables(rules).updated;
  const reads = Object.entries(rules.tables).some(
    ([table, rule]) => rule !== 'truncate' && Object.values(rule).some((c) => c.keep_where && rewritten.some((t) => t !== table && new RegExp(`\\b${t}\\b`, 'i').test(c.keep_where!))),
  );
  return reads ? 1 : Math.max(1, Math.min(jobs, 8));
}

/** Restore in three sections (tables, data, indexes and constraints) with the scrub between data and indexes: the
 *  rewritten plain tables are loaded UNLOGGED (no WAL for rows the scrub replaces) and become LOGGED again in their
 *  scrub transaction; the tables are scrubbed in parallel, the truncated ones are never loaded. */
async function restoreScrubbed(r: Restore, rules: ScrubRules, accounts: string[], dir: string, log: (l: string) => void): Promise<void> {
  const { truncated, updated } = scrubTables(rules);
  const listed = await r.conn.run(`pg_restore -l ${shq(r.dump)}`);
  if (listed.code !== 0) throw new OperationError(`pg_restore -l ${r.dump} on ${r.host.name} failed (exit ${listed.code})\n${tail(listed.stderr)}`);
  const list = `${dir}/restore.list`;
  const saved = await r.conn.run(`cat > ${shq(list)} && chmod 644 ${shq(list)}`, { stdin: withoutDataOf(listed.stdout, truncated) + '\n' });
  if (saved.code !== 0) throw new OperationError(`cannot write ${list} on ${r.host.name}\n${tail(saved.stderr)}`);
  let since = Date.now();
  const started = await query(r.conn, r.host, r.database, 'SELECT pg_postmaster_start_time();');
  await pgRestore(r, `--section=pre-data -L ${shq(list)}`, 'tables');
  const before = (await query(r.conn, r.host, r.database, PERSISTENCE)).flat();
  const unlogged = updated.length
    ? (await query(r.conn, r.host, r.database, `SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relpersistence = 'p' AND NOT c.relispartition AND c.relname IN (${updated.map(sqlLiteral).join(', ')}) ORDER BY 1;`)).map(([t]) => t)
    : [];
  if (unlogged.length) await query(r.conn, r.host, r.database, unlogged.map((t) => `ALTER TABLE ${sqlIdent(t)} SET UNLOGGED;`).join('\n'));
  await pgRestore(r, `--section=data -L ${shq(list)}`, 'data');
  log(`tables and data loaded in ${seconds(since)}${truncated.length ? ` (not the data of ${truncated.join(', ')}: the scrub rules empty them)` : ''}`);
  since = Date.now();
  const sql = scrubWhileRestoringSql(scrubPlan(rules, accounts), unlogged);
  if (sql.truncates) await query(r.conn, r.host, r.database, sql.truncates);
  const parallel = scrubOrder(rules, Number(r.jobs));
  const outcomes = await fanOut(sql.updates.map((u, i) => ({ name: String(i), sql: u })), (u) => query(r.conn, r.host, r.database, u.sql), parallel);
  const failed = outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw failed.error;
  const after = (await query(r.conn, r.host, r.database, PERSISTENCE)).flat();
  if (after.join('\n') !== before.join('\n')) throw new OperationError(`${r.database} on ${r.host.name}: tables are not logged as the dump made them after the scrub`);
  log(`scrubbed ${Object.keys(rules.tables).length} tables (one transaction per rewritten table, ${parallel > 1 ? `up to ${parallel} at once` : 'one after another'}) before their indexes were built, in ${seconds(since)}`);
  since = Date.now();
  await pgRestore(r, `--section=post-data -L ${shq(list)}`, 'indexes and constraints');
  log(`indexes and constraints built in ${seconds(since)}`);
  // a crash restart while tables were UNLOGGED empties them: their rows would be silently gone
  const restarted = await query(r.conn, r.host, r.database, 'SELECT pg_postmaster_start_time();');
  if (restarted.join() !== started.join()) throw new OperationError(`the server on ${r.host.name} restarted during the restore; tables loaded unlogged may have lost their rows: run the refresh again`);
  await query(r.conn, r.host, r.database, `COMMENT ON DATABASE ${sqlIdent(r.database)} IS ${sqlLiteral(scrubMarker(scrubStatements(rules, accounts)))};`);
}

export const restoreAction: Action = {
  name: 'refresh.restore',
  summary: 'restore into a new database beside the live one, with parallel jobs (scrubbed before its indexes are built when there are scrub rules)',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `restore into ${sideNames(r.spec.to.database).incoming} on ${r.target.name} (the live ${r.spec.to.database} is not touched), ${String(p.jobs ?? 'auto')} jobs${r.spec.scrub ? `, scrubbed by ${r.spec.scrub} before indexes are built` : ''}`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const db = r.spec.to.database;
    const owner = r.target.postgres!.databases?.find((d) => d.name === db)?.owner ?? 'postgres';
    const { incoming } = sideNames(db);
    const conn = await ctx.pool.get(r.target);
    const rules = r.spec.scrub ? rulesOf(r.spec.scrub) : undefined; // invalid rules fail before anything is dropped
    await query(conn, r.target, 'postgres', `DROP DATABASE IF EXISTS "${incoming}" WITH (FORCE);`);
    await query(conn, r.target, 'postgres', `CREATE DATABASE "${incoming}" OWNER "${owner}";`);
    const dir = String(p.dir);
    const found = await conn.run(`if [ -d ${shq(`${dir}/dump`)} ]; then echo ${shq(`${dir}/dump`)}; else echo ${shq(`${dir}/dump.pgdump`)}; fi`);
    const jobs = Number(p.jobs ?? r.spec.jobs ?? 0) || Number((await conn.run('nproc')).stdout.trim()) || 2;
    const maintenanceWorkMem = String(p.maintenance_work_mem ?? '256MB');
    if (!/^\d+(kB|MB|GB)$/.test(maintenanceWorkMem)) throw new UserError(`maintenance_work_mem: '${maintenanceWorkMem}' is not a size like 256MB`);
    const restore: Restore = { conn, host: r.target, database: incoming, owner, dump: found.stdout.trim(), jobs, maintenanceWorkMem };
    const unsafe = rules ? await scrubBeforeIndexesUnsafe(restore) : undefined;
    if (unsafe) ctx.log(`restoring everything before the scrub step: ${unsafe}`);
    if (rules && !unsafe) await restoreScrubbed(restore, rules, r.spec.promote?.accounts ?? [], dir, ctx.log);
    else await pgRestore(restore, '', 'everything');
    const [[tables]] = await query(conn, r.target, incoming, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')");
    ctx.log(`restored ${tables} tables into ${incoming} with ${jobs} jobs`);
    return { database: incoming };
  },
};
