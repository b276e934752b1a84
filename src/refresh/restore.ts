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
import { piiFindings, piiRefusal, piiScanMark, rulesOf } from './transform.js';

const dataOf = (line: string) => /^\d+; \d+ \d+ TABLE DATA public (\S+) /.exec(line)?.[1];

/** A pg_restore table of contents (`pg_restore -l`) without the data of the given public tables (pure). */
export function withoutDataOf(list: string, tables: string[]): string {
  const skip = new Set(tables);
  return list
    .split('\n')
    .filter((line) => !skip.has(dataOf(line) ?? ''))
    .join('\n');
}

/** Only the data entries of the given public tables from a pg_restore table of contents (pure). */
export function onlyDataOf(list: string, tables: string[]): string {
  const keep = new Set(tables);
  return list
    .split('\n')
    .filter((line) => keep.has(dataOf(line) ?? ''))
    .join('\n');
}

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
): { truncates: string | undefined; updates: { table: string; sql: string; rewrite?: string }[] } {
  const tx = (statements: string[]) => ['BEGIN;', ...statements, 'COMMIT;'].join('\n');
  const rewrite = (u: (typeof plan.updates)[number]): string | undefined => {
    const known = columns[u.table];
    if (!unlogged.includes(u.table) || !known || u.values.some((v) => !known[v.column] || /\bselect\b/i.test(v.value))) return undefined;
    const alters = u.values.map((v) => {
      const c = known[v.column];
      return `ALTER COLUMN ${sqlIdent(v.column)} TYPE ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''} USING ${v.value}`;
    });
    return tx([`ALTER TABLE ${sqlIdent(u.table)} SET LOGGED, ${alters.join(', ')};`]);
  };
  return {
    truncates: plan.truncates.length ? tx(plan.truncates) : undefined,
    updates: plan.updates.map((u) => ({ table: u.table, sql: tx([u.sql, ...(unlogged.includes(u.table) ? [`ALTER TABLE ${sqlIdent(u.table)} SET LOGGED;`] : [])]), rewrite: rewrite(u) })),
  };
}

/** The columns of plain public tables among `tables` (not typed, without inheritance), for scrubWhileRestoringSql. */
const columnTypesSql = (tables: string[]) =>
  `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), coalesce(quote_ident(cn.nspname) || '.' || quote_ident(co.collname), '') FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.reloftype = 0 AND NOT c.relhassubclass AND NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AND a.attnum > 0 AND NOT a.attisdropped AND c.relname IN (${tables.map(sqlLiteral).join(', ')}) ORDER BY 1, a.attnum;`;

/** Rows of columnTypesSql by table and column (pure). */
export function columnTypes(rows: string[][]): Record<string, Record<string, ColumnType>> {
  const out: Record<string, Record<string, ColumnType>> = {};
  for (const [table, column, type, collation] of rows) (out[table] ??= {})[column] = collation ? { type, collation } : { type };
  return out;
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

async function pgRestore(r: Restore, args: string, what: string, jobs = r.jobs): Promise<void> {
  const env = `PGOPTIONS='-c maintenance_work_mem=${r.maintenanceWorkMem} -c work_mem=64MB'`; // index builds, constraint checks
  const res = await r.conn.run(`cd / && su postgres -s /bin/sh -c ${shq(`${env} pg_restore -p ${r.host.postgres!.port} -d ${r.database} -j ${jobs} --no-owner --no-acl --role=${r.owner} --exit-on-error ${args} ${shq(r.dump)}`)}`);
  if (res.code !== 0) throw new OperationError(`pg_restore (${what}) into ${r.database} on ${r.host.name} failed (exit ${res.code}); the live database is untouched\n${tail(res.stderr || res.stdout)}`);
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** What in a dump's post-data would act on the rows the scrub rewrites (triggers, rules, keys that cascade updates):
 *  scrubbing before those exist would skip them, so such a dump is restored whole and scrubbed after. */
export const ACTS_ON_UPDATES = /^CREATE (?:CONSTRAINT )?TRIGGER |^CREATE (?:OR REPLACE )?RULE |ON UPDATE CASCADE/m;

/** A dump's table of contents (`pg_restore -l`) and post-data SQL (`pg_restore --section=post-data -f -`). */
async function readDump(r: Restore): Promise<{ toc: string; postSql: string }> {
  const [toc, post] = await Promise.all([r.conn.run(`pg_restore -l ${shq(r.dump)}`), r.conn.run(`pg_restore --section=post-data -f - ${shq(r.dump)}`)]);
  for (const [res, what] of [[toc, '-l'], [post, '--section=post-data']] as const)
    if (res.code !== 0) throw new OperationError(`pg_restore ${what} ${r.dump} on ${r.host.name} failed (exit ${res.code})\n${tail(res.stderr)}`);
  return { toc: toc.stdout, postSql: post.stdout };
}

/** Why a dump must be restored whole before its scrub, or undefined when scrubbing between data and indexes is safe. */
function scrubBeforeIndexesUnsafe(postSql: string): string | undefined {
  const m = ACTS_ON_UPDATES.exec(postSql);
  return m ? `the dump has ${m[0].trim()} definitions, which must see the scrub` : undefined;
}

export interface ForeignKey {
  table: string;
  name: string;
  /** The dump's ADD CONSTRAINT statement with NOT VALID: no check of the rows, an instant catalog change. */
  add: string;
}

/** The plain foreign keys of a dump's post-data, taken out of its restore list (pure). pg_restore adds foreign keys one
 *  after another (each checks every row while it locks the table it references), so these are added NOT VALID and then
 *  validated in parallel instead: the same constraints, checked the same way, in the end. Keys of another shape
 *  (partitioned tables, quoted names, already NOT VALID in the dump, with a comment) stay in the list for pg_restore. */
export function parallelForeignKeys(postSql: string, list: string): { list: string; keys: ForeignKey[] } {
  const keys: ForeignKey[] = [];
  let lines = list.split('\n');
  const header = /^-- Name: ([^;\n]+); Type: FK CONSTRAINT; Schema: ([^;\n]+); Owner: [^\n]*\n--\n\n(ALTER TABLE [^;]*;)$/gm;
  for (const [, tag, schema, statement] of postSql.matchAll(header)) {
    const m = /^ALTER TABLE ONLY ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\n {4}ADD CONSTRAINT ([a-z_][a-z0-9_]*) FOREIGN KEY \([^;]*\) REFERENCES [^;]*;$/.exec(statement);
    if (!m || /\bNOT VALID;$/.test(statement) || postSql.includes(`COMMENT ON CONSTRAINT ${m[2]} ON`)) continue;
    const entry = (l: string) => l.endsWith(` FK CONSTRAINT ${schema} ${tag} ${l.split(' ').pop()}`) && /^\d+; \d+ \d+ FK CONSTRAINT /.test(l);
    if (lines.filter(entry).length !== 1) continue;
    lines = lines.filter((l) => !entry(l));
    keys.push({ table: m[1], name: m[2], add: `${statement.slice(0, -1)} NOT VALID;` });
  }
  return { list: lines.join('\n'), keys };
}

/** Run the per-table scrub transactions: at most `jobs` at once, one after another in the rules' order when a
 *  table's keep_where reads another table the scrub rewrites (its result must not depend on which commits first). */
export function scrubOrder(rules: ScrubRules, jobs: number): number {
  return keepWhereMatches(rules, scrubTables(rules).updated) ? 1 : Math.max(1, Math.min(jobs, 8));
}

/** Whether a keep_where names one of `tables` other than its own table (whatever its case), or matches `also`. */
function keepWhereMatches(rules: ScrubRules, tables: string[], also?: RegExp): boolean {
  const names = (table: string) => tables.filter((t) => t !== table).map((t) => new RegExp(`\\b${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i'));
  return Object.entries(rules.tables).some(
    ([table, rule]) => rule !== 'truncate' && Object.values(rule).some((c) => c.keep_where && (also?.test(c.keep_where) || names(table).some((re) => re.test(c.keep_where!)))),
  );
}

/** Whether a keep_where reads more than its own table's rows: another of the dump's tables by name, or any subquery.
 *  The scrub of such rules waits until every table's data is loaded. */
export function keepWhereReadsOthers(rules: ScrubRules, tables: string[]): boolean {
  return keepWhereMatches(rules, tables, /\bselect\b/i);
}

/** Add the foreign keys NOT VALID (no row is read), then validate them, up to `jobs` at once: a validation locks its
 *  table against writes and reads the rows, as ADD CONSTRAINT does, but no longer blocks the other keys' checks. */
async function addForeignKeys(r: Restore, keys: ForeignKey[], log: (l: string) => void): Promise<void> {
  if (!keys.length) return;
  const t0 = Date.now();
  await query(r.conn, r.host, r.database, ['BEGIN;', ...keys.map((k) => k.add), 'COMMIT;'].join('\n'));
  const outcomes = await fanOut(keys.map((k) => ({ name: k.name, key: k })), ({ key }) => query(r.conn, r.host, r.database, `ALTER TABLE ONLY ${key.table} VALIDATE CONSTRAINT ${key.name};`), Math.max(1, Number(r.jobs)));
  const failed = outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw new OperationError(`foreign key ${failed.host} of ${r.database} on ${r.host.name} does not hold: ${failed.error.message}`);
  log(`${keys.length} foreign keys checked, up to ${r.jobs} at once, in ${seconds(t0)}`);
}

/** Restore in three sections (tables, data, indexes and constraints) with the scrub between data and indexes: the
 *  rewritten plain tables are loaded UNLOGGED (no WAL for rows the scrub replaces) and become LOGGED again in their
 *  scrub transaction; the tables are scrubbed in parallel, the truncated ones are never loaded. The rewritten tables
 *  are loaded and scrubbed while the other tables' data loads beside them (the jobs shared between the two). */
async function restoreScrubbed(r: Restore, rules: ScrubRules, accounts: string[], dir: string, dump: { toc: string; postSql: string }, log: (l: string) => void): Promise<string> {
  const { truncated, updated } = scrubTables(rules);
  const list = `${dir}/restore.list`; // everything but the data of the truncated and the rewritten tables, and the parallel foreign keys
  const rewritten = `${dir}/rewritten.list`; // the data of the rewritten tables only
  const fks = parallelForeignKeys(dump.postSql, withoutDataOf(dump.toc, [...truncated, ...updated]));
  const save = async (path: string, text: string) => {
    const saved = await r.conn.run(`cat > ${shq(path)} && chmod 644 ${shq(path)}`, { stdin: text + '\n' });
    if (saved.code !== 0) throw new OperationError(`cannot write ${path} on ${r.host.name}\n${tail(saved.stderr)}`);
  };
  let since = Date.now();
  const [started] = await Promise.all([query(r.conn, r.host, r.database, 'SELECT pg_postmaster_start_time();'), save(list, fks.list), save(rewritten, onlyDataOf(dump.toc, updated))]);
  await pgRestore(r, `--section=pre-data -L ${shq(list)}`, 'tables');
  const before = (await query(r.conn, r.host, r.database, PERSISTENCE)).flat();
  const unlogged = updated.length
    ? (await query(r.conn, r.host, r.database, `SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relpersistence = 'p' AND NOT c.relispartition AND c.relname IN (${updated.map(sqlLiteral).join(', ')}) ORDER BY 1;`)).map(([t]) => t)
    : [];
  const [columns] = await Promise.all([
    unlogged.length ? query(r.conn, r.host, r.database, columnTypesSql(unlogged)).then(columnTypes) : {},
    unlogged.length ? query(r.conn, r.host, r.database, unlogged.map((t) => `ALTER TABLE ${sqlIdent(t)} SET UNLOGGED;`).join('\n')) : undefined,
  ]);
  log(`tables created in ${seconds(since)}`);
  const jobs = Number(r.jobs);
  const scrubJobs = Math.max(1, Math.floor(jobs / 2));
  // a keep_where that reads other tables must see them whole: then the scrub waits for all the data
  const waits = keepWhereReadsOthers(rules, dump.toc.split('\n').flatMap((l) => dataOf(l) ?? []));
  const loadOthers = async () => {
    const t0 = Date.now();
    await pgRestore(r, `--section=data -L ${shq(list)}`, 'data', Math.max(1, jobs - scrubJobs));
    log(`the other tables' data loaded in ${seconds(t0)}${waits ? ' (the scrub waited for them: a keep_where reads other tables)' : ', beside the scrub'}${truncated.length ? ` (not the data of ${truncated.join(', ')}: the scrub rules empty them)` : ''}`);
  };
  const loadAndScrub = async (othersLoaded: Promise<void>) => {
    const t0 = Date.now();
    if (updated.length) await pgRestore(r, `--section=data -L ${shq(rewritten)}`, 'data of the scrubbed tables', scrubJobs);
    log(`the scrubbed tables' data loaded in ${seconds(t0)}`);
    if (waits) await othersLoaded;
    const t1 = Date.now();
    const sql = scrubWhileRestoringSql(scrubPlan(rules, accounts), unlogged, columns);
    if (sql.truncates) await query(r.conn, r.host, r.database, sql.truncates);
    const parallel = scrubOrder(rules, jobs);
    const copied: string[] = [];
    const scrubTable = async (u: (typeof sql.updates)[number]) => {
      if (u.rewrite) {
        const done = await query(r.conn, r.host, r.database, u.rewrite).then(
          () => true,
          (e: Error) => (log(`${u.table}: one ALTER TABLE could not rewrite it (${/ERROR: +(.*)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]}); updated instead`), false),
        );
        if (done) return void copied.push(u.table);
      }
      await query(r.conn, r.host, r.database, u.sql);
    };
    const outcomes = await fanOut(sql.updates.map((u) => ({ name: u.table, u })), ({ u }) => scrubTable(u), parallel);
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) throw failed.error;
    const how = copied.length ? `; ${copied.join(', ')} copied once with the new values by ALTER TABLE ... SET LOGGED, ALTER COLUMN ... USING` : '';
    log(`scrubbed ${Object.keys(rules.tables).length} tables (one transaction per rewritten table, ${parallel > 1 ? `up to ${parallel} at once` : 'one after another'}${how}) before their indexes were built, in ${seconds(t1)}`);
  };
  since = Date.now();
  // both run to their end before a failure is reported: nothing keeps writing into the database after this step
  const others = loadOthers();
  const failure = (await Promise.allSettled([others, loadAndScrub(others)])).find((o) => o.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  log(`data loaded and scrubbed in ${seconds(since)}`);
  const after = (await query(r.conn, r.host, r.database, PERSISTENCE)).flat();
  if (after.join('\n') !== before.join('\n')) throw new OperationError(`${r.database} on ${r.host.name}: tables are not logged as the dump made them after the scrub`);
  // the rows are final now (nothing in post-data acts on them): the scan for personal data runs beside the index build
  const timed = async <T>(work: Promise<T>, done: (s: string) => string): Promise<T> => {
    const t0 = Date.now();
    const value = await work;
    log(done(seconds(t0)));
    return value;
  };
  const [built, scanned] = await Promise.allSettled([
    timed(
      (async () => {
        // one job more than the restore's: index builds are of very unequal sizes, and the last ones would
        // otherwise leave CPUs idle while the scan beside them has ended
        await pgRestore(r, `--section=post-data -L ${shq(list)}`, 'indexes and constraints', Number(r.jobs) + 1);
        // the swap's DROP DATABASE of the old copy forces a checkpoint, which would then write all these new pages:
        // they are written now, while the keys are checked (which only read)
        await Promise.all([addForeignKeys(r, fks.keys, log), query(r.conn, r.host, r.database, 'CHECKPOINT;')]);
      })(),
      (s) => `indexes and constraints built in ${s}`,
    ),
    timed(piiFindings(r.conn, r.host, r.database, rules), (s) => `scanned ${(rules.verify?.pii_scan ?? []).join(', ') || 'no tables'} for personal data beside the index build, in ${s}`),
  ]);
  if (built.status === 'rejected') throw built.reason;
  if (scanned.status === 'rejected') throw scanned.reason;
  if (scanned.value.length) throw piiRefusal(scanned.value);
  // a crash restart while tables were UNLOGGED empties them: their rows would be silently gone
  const restarted = await query(r.conn, r.host, r.database, 'SELECT pg_postmaster_start_time();');
  if (restarted.join() !== started.join()) throw new OperationError(`the server on ${r.host.name} restarted during the restore; tables loaded unlogged may have lost their rows: run the refresh again`);
  await query(r.conn, r.host, r.database, `COMMENT ON DATABASE ${sqlIdent(r.database)} IS ${sqlLiteral(scrubMarker(scrubStatements(rules, accounts)))};`);
  return piiScanMark(rules, r.database);
}

export const restoreAction: Action = {
  name: 'refresh.restore',
  summary: 'restore into a new database beside the live one, with parallel jobs (with scrub rules: scrubbed before its indexes are built, scanned for personal data while they are built)',
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
    const maintenanceWorkMem = String(p.maintenance_work_mem ?? '256MB');
    if (!/^\d+(kB|MB|GB)$/.test(maintenanceWorkMem)) throw new UserError(`maintenance_work_mem: '${maintenanceWorkMem}' is not a size like 256MB`);
    const dir = String(p.dir);
    // the new database, and what is in the dump and on the host, asked at the same time
    const [, found] = await Promise.all([
      query(conn, r.target, 'postgres', `DROP DATABASE IF EXISTS "${incoming}" WITH (FORCE);\nCREATE DATABASE "${incoming}" OWNER "${owner}";`),
      conn.run(`if [ -d ${shq(`${dir}/dump`)} ]; then echo ${shq(`${dir}/dump`)}; else echo ${shq(`${dir}/dump.pgdump`)}; fi; nproc`),
    ]);
    const [dump, nproc] = found.stdout.trim().split('\n');
    const jobs = Number(p.jobs ?? r.spec.jobs ?? 0) || Number(nproc) || 2;
    const restore: Restore = { conn, host: r.target, database: incoming, owner, dump, jobs, maintenanceWorkMem };
    const contents = rules ? await readDump(restore) : undefined;
    const unsafe = contents ? scrubBeforeIndexesUnsafe(contents.postSql) : undefined;
    if (unsafe) ctx.log(`restoring everything before the scrub step: ${unsafe}`);
    let piiScanned = '';
    if (rules && contents && !unsafe) piiScanned = await restoreScrubbed(restore, rules, r.spec.promote?.accounts ?? [], dir, contents, ctx.log);
    else await pgRestore(restore, '', 'everything');
    const [[tables]] = await query(conn, r.target, incoming, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')");
    ctx.log(`restored ${tables} tables into ${incoming} with ${jobs} jobs`);
    return { database: incoming, pii_scanned: piiScanned };
  },
};
