// Restore a backup beside the live database, in parallel. With scrub rules, the scrub happens while restoring: tables
// are loaded without their indexes and constraints, the scrub rewrites them once, then indexes and constraints are built
// on the scrubbed rows. Much cheaper than a scrub after a full restore, which updates every index entry of every row.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { limiter } from '../core/limiter.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import { fanOut } from '../executor/fanout.js';
import { tail } from '../executor/run.js';
import type { Action, ActionContext } from '../runbook/types.js';
import { ownerOf, query, refreshOf, sideNames } from './db.js';
import { fakeKey, keyStatements } from './fakekey.js';
import { checkLogin, createIncomingSql, incomingMark, openLogin, refreshRole, runSql, type Login } from './login.js';
import { tableKey, tableName, tableRegclass, tableSql } from './names.js';
import { pgRestore, prepareIncoming, saveFile, type Restore } from './prepare.js';
import { checkRules, piiFindings, piiRefusal, scanSummary } from './scan.js';
import { rulesHash, scrubPlan, scrubTables, type ScrubRules } from './scrub.js';
import { rulesOf } from './transform.js';

/** The `schema.table` key of a TABLE DATA entry of a table of contents (names without spaces; others never match). */
const dataOf = (line: string) => {
  const m = /^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(line);
  return m ? `${m[1]}.${m[2]}` : undefined;
};

/** A pg_restore table of contents (`pg_restore -l`) without the data of the given tables (`schema.table`) (pure). */
export function withoutDataOf(list: string, tables: string[]): string {
  const skip = new Set(tables);
  return list
    .split('\n')
    .filter((line) => !skip.has(dataOf(line) ?? ''))
    .join('\n');
}

/** Only the data entries of the given tables (`schema.table`) from a pg_restore table of contents (pure). */
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
const columnTypesSql = (tables: string[]) =>
  `SELECT n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), coalesce(quote_ident(cn.nspname) || '.' || quote_ident(co.collname), '') FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND c.reloftype = 0 AND NOT c.relhassubclass AND NOT c.relispartition AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) AND a.attnum > 0 AND NOT a.attisdropped AND c.oid IN (${tables.map(tableRegclass).join(', ')}) ORDER BY 1, a.attnum;`;

/** Rows of columnTypesSql by table and column (pure). */
export function columnTypes(rows: string[][]): Record<string, Record<string, ColumnType>> {
  const out: Record<string, Record<string, ColumnType>> = {};
  for (const [table, column, type, collation] of rows) (out[table] ??= {})[column] = collation ? { type, collation } : { type };
  return out;
}

// (tables, sequences, views: the indexes are built beside the scrub and take their table's persistence)
const PERSISTENCE = "SELECT c.oid::regclass::text || ':' || c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind NOT IN ('i', 'I') ORDER BY 1;";

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** What in a dump's post-data would act on the rows the scrub rewrites (rules, keys that cascade updates): scrubbing
 *  before those exist would skip them, so such a dump is restored whole and scrubbed after. Triggers are not among
 *  them: production's triggers never run for the scrub (switched off for it when they exist). */
export const ACTS_ON_UPDATES = /^CREATE (?:OR REPLACE )?RULE |ON UPDATE CASCADE/m;

interface Dump {
  /** The table of contents (`pg_restore -l`). */
  toc: string;
  /** Its post-data entries (`pg_restore -l --section=post-data`). */
  postList: string;
  /** The post-data SQL (`pg_restore --section=post-data -f -`). */
  postSql: string;
}

async function readDump(r: Restore, whole: boolean): Promise<Dump> {
  const none = Promise.resolve({ code: 0, stdout: '', stderr: '' });
  const [toc, postList, post] = await Promise.all([
    r.conn.run(`pg_restore -l ${shq(r.dump)}`),
    whole ? r.conn.run(`pg_restore -l --section=post-data ${shq(r.dump)}`) : none,
    whole ? r.conn.run(`pg_restore --section=post-data -f - ${shq(r.dump)}`) : none,
  ]);
  for (const [res, what] of [[toc, '-l'], [postList, '-l --section=post-data'], [post, '--section=post-data']] as const)
    if (res.code !== 0) throw new OperationError(`pg_restore ${what} ${r.dump} on ${r.host.name} failed (exit ${res.code})\n${tail(res.stderr)}`);
  return { toc: toc.stdout, postList: postList.stdout, postSql: post.stdout };
}

/** Why a dump must be restored whole before its scrub, or undefined when scrubbing between data and indexes is safe. */
function scrubBeforeIndexesUnsafe(postSql: string): string | undefined {
  const m = ACTS_ON_UPDATES.exec(postSql);
  return m ? `the dump has ${m[0].trim()} definitions, which must see the scrub` : undefined;
}

export interface ForeignKey {
  table: string;
  /** The table it references (schema-qualified, as `table`). */
  references: string;
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
    const m = /^ALTER TABLE ONLY ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\n {4}ADD CONSTRAINT ([a-z_][a-z0-9_]*) FOREIGN KEY \([^;]*\) REFERENCES ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\([^;]*;$/.exec(statement);
    if (!m || /\bNOT VALID;$/.test(statement) || postSql.includes(`COMMENT ON CONSTRAINT ${m[2]} ON`)) continue;
    const entry = (l: string) => l.endsWith(` FK CONSTRAINT ${schema} ${tag} ${l.split(' ').pop()}`) && /^\d+; \d+ \d+ FK CONSTRAINT /.test(l);
    if (lines.filter(entry).length !== 1) continue;
    lines = lines.filter((l) => !entry(l));
    keys.push({ table: m[1], references: m[3], name: m[2], add: `${statement.slice(0, -1)} NOT VALID;` });
  }
  return { list: lines.join('\n'), keys };
}

/** A primary key or unique constraint that ironclad builds itself: its unique index by CREATE UNIQUE INDEX (a SHARE
 *  lock, built beside the table's other indexes), then the constraint on it by ADD CONSTRAINT ... USING INDEX (an
 *  instant catalog change). pg_restore's ADD CONSTRAINT builds the index under an ACCESS EXCLUSIVE lock, after and
 *  before every other index of its table, so that one table's indexes are built one after another. */
export interface UniqueKey {
  table: string;
  name: string;
  kind: 'PRIMARY KEY' | 'UNIQUE';
  /** The dump's own statement, run instead when PostgreSQL refuses the constraint on the index. */
  statement: string;
  index: string;
  constraint: string;
  /** Its line in the restore list, taken out of it. */
  line: string;
}

/** The plain primary keys and unique constraints among a dump's post-data entries (pure): unquoted names, a column
 *  list and nothing else (no index options, DEFERRABLE, NULLS NOT DISTINCT or comment), not of a partitioned table, and
 *  no tablespace set for any entry of the dump. */
export function uniqueKeys(postSql: string, lines: string[]): UniqueKey[] {
  if (/^SET default_tablespace = (?!'';)/m.test(postSql)) return [];
  const keys: UniqueKey[] = [];
  const header = /^-- Name: ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*); Type: CONSTRAINT; Schema: public; Owner: [^\n]*\n--\n\n(ALTER TABLE [^;]*;)$/gm;
  for (const [, tag, name, statement] of postSql.matchAll(header)) {
    const m = /^ALTER TABLE ONLY (public\.[a-z_][a-z0-9_]*)\n {4}ADD CONSTRAINT ([a-z_][a-z0-9_]*) (PRIMARY KEY|UNIQUE) (\([^()"]*\));$/.exec(statement);
    if (!m || m[1] !== `public.${tag}` || m[2] !== name || postSql.includes(`COMMENT ON CONSTRAINT ${name} ON`)) continue;
    // a partitioned table's (its partitions' indexes are attached to it): USING INDEX is not for those
    if (postSql.includes(`ALTER INDEX public.${name} ATTACH PARTITION `)) continue;
    const entry = lines.filter((l) => new RegExp(`^\\d+; \\d+ \\d+ CONSTRAINT public ${tag} ${name} `).test(l));
    if (entry.length !== 1) continue;
    keys.push({
      table: m[1],
      name,
      kind: m[3] as UniqueKey['kind'],
      statement,
      index: `CREATE UNIQUE INDEX ${name} ON ${m[1]} USING btree ${m[4]};`,
      constraint: `ALTER TABLE ONLY ${m[1]} ADD CONSTRAINT ${name} ${m[3]} USING INDEX ${name};`,
      line: entry[0],
    });
  }
  return keys;
}

/** A dump's post-data entries (indexes and constraints) by the public table they are built on, from the post-data
 *  SQL and a list of post-data entries (`pg_restore -l --section=post-data`), and the entries of any other kind or on a
 *  table with a quoted name, in `rest` (pure). */
export function postDataByTable(postSql: string, list: string): { tables: Map<string, string[]>; rest: string[] } {
  const indexed = new Map<string, string>();
  for (const [, name, table] of postSql.matchAll(/^CREATE (?:UNIQUE )?INDEX ([a-z_][a-z0-9_]*) ON (?:ONLY )?public\.([a-z_][a-z0-9_]*) /gm)) indexed.set(name, table);
  const constrained = new Set([...postSql.matchAll(/^-- Name: ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*); Type: CONSTRAINT; Schema: public;/gm)].map(([, t, c]) => `${t} ${c}`));
  const tables = new Map<string, string[]>();
  const rest: string[] = [];
  for (const line of list.split('\n').filter((l) => /^\d+;/.test(l))) {
    const index = /^\d+; \d+ \d+ INDEX public ([a-z_][a-z0-9_]*) /.exec(line);
    const constraint = /^\d+; \d+ \d+ CONSTRAINT public ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*) /.exec(line);
    const table = index ? indexed.get(index[1]) : constraint && constrained.has(`${constraint[1]} ${constraint[2]}`) ? constraint[1] : undefined;
    if (table) tables.set(table, [...(tables.get(table) ?? []), line]);
    else rest.push(line);
  }
  return { tables, rest };
}

/** A promise with its resolve and reject at hand; settled once (a rejection nobody awaits is not reported as such). */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

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

/** Restore in three sections (tables, data, indexes and constraints) with the scrub between data and indexes: the
 *  rewritten plain tables are loaded UNLOGGED (no WAL for rows the scrub replaces) and become LOGGED again in their
 *  scrub transaction; the tables are scrubbed in parallel, the truncated ones are never loaded. The rewritten tables
 *  are loaded and scrubbed while the other tables' data loads beside them (the jobs shared between the two).
 *  Indexes and constraints are built as soon as their table is final: those of the tables the rules do not touch
 *  when their data is in (beside the scrub), those of each table the rules rewrite or empty after its scrub, anything
 *  not on one table after all of them. Each foreign key is added NOT VALID (no row read) and validated as soon as
 *  both its tables are built, up to `jobs` at once: the same constraints, checked the same way as pg_restore's ADD
 *  CONSTRAINT, which would add them one after another, each reading its whole table, after every index. */
async function restoreScrubbed(r: Restore, rules: ScrubRules, file: string, accounts: string[], dir: string, dump: Dump, log: (l: string) => void): Promise<void> {
  const { truncated, updated } = scrubTables(rules);
  const touched = [...updated, ...truncated];
  const list = `${dir}/restore.list`; // everything but the data of the truncated and the rewritten tables, and the parallel foreign keys
  const rewritten = `${dir}/rewritten.list`; // the data of the rewritten tables only
  const fks = parallelForeignKeys(dump.postSql, withoutDataOf(dump.toc, touched));
  const kept = new Set(fks.list.split('\n'));
  const postLines = dump.postList.split('\n').filter((l) => kept.has(l));
  const byTable = postDataByTable(dump.postSql, postLines.join('\n'));
  // (post-data entries are grouped for public tables with plain names; the others' are built after everything)
  const post = { tables: new Map([...byTable.tables].map(([t, lines]) => [`public.${t}`, lines])), rest: byTable.rest };
  const uniques = uniqueKeys(dump.postSql, postLines);
  const byUs = new Set(uniques.map((k) => k.line));
  const listOf = (tables: string[]) => tables.flatMap((t) => post.tables.get(t) ?? []).filter((l) => !byUs.has(l));
  const others = [...post.tables.keys()].filter((t) => !touched.includes(t));
  const own = touched.filter((t) => post.tables.has(t));
  const save = (path: string, text: string) => saveFile(r, path, text);
  // the rewritten tables in the order they load: those a foreign key references first (the keys wait for them)
  const referenced = new Set(fks.keys.map((k) => k.references));
  const loadOrder = [...updated].sort((a, b) => Number(referenced.has(b)) - Number(referenced.has(a)));
  let since = Date.now();
  const [started] = await Promise.all([
    r.sql('SELECT pg_postmaster_start_time();'),
    save(list, fks.list),
    save(rewritten, onlyDataOf(dump.toc, updated)),
    save(`${dir}/post-others.list`, listOf(others).join('\n')),
    save(`${dir}/post-rest.list`, post.rest.join('\n')),
    ...own.map((t, i) => save(`${dir}/post-${i}.list`, listOf([t]).join('\n'))),
    ...loadOrder.map((t, i) => save(`${dir}/rewritten-${i}.list`, onlyDataOf(dump.toc, [t]))),
  ]);
  await pgRestore(r, `--section=pre-data -L ${shq(list)}`, 'tables');
  const catalog = await checkRules(r.conn, r.host, r.database, rules, file, r.login); // every name in the rules is there
  const before = (await r.sql(PERSISTENCE)).flat();
  // the tables the rules touch, as created: the rewritten plain ones are loaded UNLOGGED; one with partitions or
  // child tables has its rows loaded with the other tables' data
  const created = touched.length
    ? await r.sql(`SELECT n.nspname || '.' || c.relname, c.relkind = 'r' AND c.relpersistence = 'p' AND NOT c.relispartition, c.relkind = 'p' OR c.relhassubclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (${touched.map(tableRegclass).join(', ')}) ORDER BY 1;`)
    : [];
  const unlogged = created.filter(([t, plain]) => plain === 't' && updated.includes(t)).map(([t]) => t);
  const spread = created.filter(([, , parts]) => parts === 't').map(([t]) => t);
  const [columns, , keyHex] = await Promise.all([
    unlogged.length ? r.sql(columnTypesSql(unlogged)).then(columnTypes) : {},
    unlogged.length ? r.sql(unlogged.map((t) => `ALTER TABLE ${tableSql(t)} SET UNLOGGED;`).join('\n')) : undefined,
    fakeKey(r.conn, r.host),
  ]);
  log(`tables created in ${seconds(since)}`);
  const jobs = Number(r.jobs);
  const scrubJobs = Math.max(1, Math.floor(jobs / 2));
  // each table the rules touch is final once its scrub committed (the truncated ones with the truncates)
  const final = new Map(touched.map((t) => [t, deferred()]));
  // the scrub waits for all the data when a keep_where reads other tables (it must see them whole), and when a table
  // it touches is partitioned or inherited (its rows are loaded into the partitions, with the other tables' data)
  const waits = keepWhereReadsOthers(rules, dump.toc.split('\n').flatMap((l) => dataOf(l) ?? [])) || spread.length > 0;
  const why = spread.length ? `${spread.join(', ')} ${spread.length > 1 ? 'have' : 'has'} partitions or child tables, loaded with the other tables` : 'a keep_where reads other tables';
  const loadOthers = async () => {
    const t0 = Date.now();
    await pgRestore(r, `--section=data -L ${shq(list)}`, 'data', Math.max(1, jobs - scrubJobs));
    log(`the other tables' data loaded in ${seconds(t0)}${waits ? ` (the scrub waited for them: ${why})` : ', beside the scrub'}${truncated.length ? ` (not the data of ${truncated.join(', ')}: the scrub rules empty them)` : ''}`);
  };
  const loadAndScrub = async (othersLoaded: Promise<void>) => {
    const t0 = Date.now();
    const sql = scrubWhileRestoringSql(scrubPlan(rules, accounts), unlogged, columns, keyHex);
    const parallel = scrubOrder(rules, jobs);
    const copied: string[] = [];
    const scrubTable = async (u: (typeof sql.updates)[number]) => {
      if (u.rewrite) {
        const done = await r.sql(u.rewrite).then(
          () => true,
          (e: Error) => (log(`${u.table}: one ALTER TABLE could not rewrite it (${/ERROR: +(.*)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]}); updated instead`), false),
        );
        if (done) {
          copied.push(u.table);
          return final.get(u.table)?.resolve();
        }
      }
      await r.sql(u.sql);
      final.get(u.table)?.resolve();
    };
    const truncate = async () => {
      if (sql.truncates) await r.sql(sql.truncates);
      for (const t of truncated) final.get(t)!.resolve();
    };
    let t1 = Date.now();
    let failures: unknown[];
    if (waits) {
      // all the data, then the scrub (one after another in the rules' order when a keep_where reads a rewritten table)
      if (updated.length) await pgRestore(r, `--section=data -L ${shq(rewritten)}`, 'data of the scrubbed tables', scrubJobs);
      log(`the scrubbed tables' data loaded in ${seconds(t0)}`);
      await othersLoaded;
      t1 = Date.now();
      await truncate();
      const outcomes = await fanOut(sql.updates.map((u) => ({ name: u.table, u })), ({ u }) => scrubTable(u), parallel);
      failures = outcomes.flatMap((o) => (o.ok ? [] : [o.error]));
    } else {
      // each rewritten table is scrubbed as soon as its own data is in, while the next one loads
      await truncate();
      const load = limiter(scrubJobs);
      const scrub = limiter(parallel);
      const byTable = new Map(sql.updates.map((u) => [u.table, u]));
      let loadedAt = t0;
      const outcomes = await Promise.allSettled(
        loadOrder.map((t, i) =>
          load(() => pgRestore(r, `--section=data -L ${shq(`${dir}/rewritten-${i}.list`)}`, `data of ${t}`, 1)).then(() => {
            loadedAt = Date.now();
            return scrub(() => scrubTable(byTable.get(t)!));
          }),
        ),
      );
      log(`the scrubbed tables' data loaded in ${((loadedAt - t0) / 1000).toFixed(1)} s (${loadOrder.join(', ')}; each scrubbed as soon as it was in)`);
      failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    }
    if (failures.length) throw failures[0];
    const how = copied.length ? `; ${copied.join(', ')} copied once with the new values by ALTER TABLE ... SET LOGGED, ALTER COLUMN ... USING` : '';
    log(`scrubbed ${Object.keys(rules.tables).length} tables (one transaction per rewritten table, ${parallel > 1 ? `up to ${parallel} at once` : 'one after another'}${how}) before their indexes were built, in ${seconds(t1)}`);
  };
  since = Date.now();
  let scrubbedAt = 0;
  const othersLoaded = loadOthers();
  const scrubbing = loadAndScrub(othersLoaded).then(
    () => void (scrubbedAt = Date.now()),
    (e: unknown) => {
      for (const f of final.values()) f.reject(e); // what waits for a table never starts
      throw e;
    },
  );
  const dataDone = Promise.all([othersLoaded, scrubbing]).then(() => log(`data loaded and scrubbed in ${seconds(since)}`));
  // index builds: of very unequal sizes, one job more than the restore's keeps the CPUs busy to the end of each group
  // (a group's primary keys and unique constraints: their unique indexes beside the others, then the constraints on them;
  // the dump's own statement when PostgreSQL refuses one)
  const settings = `SET maintenance_work_mem = ${sqlLiteral(r.maintenanceWorkMem)};\nSET work_mem = '64MB';`;
  const buildKey = async (k: UniqueKey) => {
    await r.sql(`${settings}\n${k.index}`);
    await r.sql(k.constraint).catch(async (e: Error) => {
      log(`${k.name}: ${/ERROR: +(.*)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]}; built by the dump's ADD CONSTRAINT instead`);
      await r.sql(`DROP INDEX IF EXISTS ${k.table.split('.')[0]}.${k.name};\n${settings}\n${k.statement}`);
    });
  };
  const build = async (file: string, what: string, n: number, tables: string[]) => {
    const slot = limiter(n);
    await Promise.all([
      listOf(tables).length ? pgRestore(r, `--section=post-data -L ${shq(`${dir}/${file}`)}`, what, n) : undefined,
      ...uniques.filter((k) => tables.includes(k.table)).map((k) => slot(() => buildKey(k))),
    ]);
  };
  const builtOthers = others.length ? othersLoaded.then(() => build('post-others.list', 'indexes and constraints of the other tables', jobs + 1, others)) : Promise.resolve();
  const builtOwn = new Map(own.map((t, i) => [t, final.get(t)!.promise.then(() => build(`post-${i}.list`, `indexes and constraints of ${t}`, jobs, [t]))]));
  // what is on no one table (or not a plain key) may need any of them: after all
  const builtAll = Promise.all([dataDone, builtOthers, ...builtOwn.values()]).then(async () => {
    if (post.rest.length) await pgRestore(r, `--section=post-data -L ${shq(`${dir}/post-rest.list`)}`, 'the other indexes and constraints', jobs + 1);
  });
  // a key waits for its two tables' builds; for everything when a unique index it may need is in the rest
  const restBuildsKeys = post.rest.some((l) => /^\d+; \d+ \d+ (?:INDEX|CONSTRAINT) /.test(l));
  const ready = (table: string): Promise<unknown> => {
    if (restBuildsKeys || !post.tables.has(table)) return builtAll;
    return builtOwn.get(table) ?? builtOthers;
  };
  const slot = limiter(Math.max(1, jobs));
  let keysFrom = 0;
  const keys = fks.keys.map((k) =>
    Promise.all([ready(k.table), ready(k.references)]).then(() =>
      slot(async () => {
        keysFrom ||= Date.now();
        await r.sql(`BEGIN;\n${k.add}\nCOMMIT;\nALTER TABLE ONLY ${k.table} VALIDATE CONSTRAINT ${k.name};`);
      }).catch((e: Error) => {
        throw new OperationError(`foreign key ${k.name} of ${r.database} on ${r.host.name} does not hold: ${e.message}`);
      }),
    ),
  );
  // the swap's DROP DATABASE of the old copy forces a checkpoint, which would then write all these new pages: they are
  // written now, while the last keys are checked (which only read)
  const checkpoint = builtAll.then(() => query(r.conn, r.host, 'postgres', 'CHECKPOINT;')); // (ironclad's own statement, as postgres)
  // the rows are final once scrubbed (nothing in post-data acts on them): the scan for personal data runs beside the
  // index builds
  const scanned = dataDone.then(async () => {
    const t0 = Date.now();
    const findings = await piiFindings(r.conn, r.host, r.database, rules, catalog, r.login);
    log(`scanned ${scanSummary(rules, catalog)} for personal data beside the index build, in ${seconds(t0)}`);
    return findings;
  });
  // everything runs to its end before a failure is reported: nothing keeps writing into the database after this step
  const outcomes = await Promise.allSettled([dataDone, builtOthers, ...builtOwn.values(), builtAll, ...keys, checkpoint, scanned]);
  const failure = outcomes.find((o) => o.status === 'rejected');
  if (failure) throw (failure as PromiseRejectedResult).reason;
  if (fks.keys.length) log(`${fks.keys.length} foreign keys checked, up to ${jobs} at once, each as soon as its tables were built, in ${seconds(keysFrom)}`);
  log(`indexes and constraints built in ${seconds(scrubbedAt)} after the scrub (the other tables' from when their data was in; ${uniques.length} primary keys and unique constraints on unique indexes built beside their tables' other indexes)`);
  const after = (await r.sql(PERSISTENCE)).flat();
  if (after.join('\n') !== before.join('\n')) throw new OperationError(`${r.database} on ${r.host.name}: tables are not logged as the dump made them after the scrub`);
  const findings = await scanned;
  if (findings.length) throw piiRefusal(findings, file);
  // a crash restart while tables were UNLOGGED empties them: their rows would be silently gone
  const restarted = await r.sql('SELECT pg_postmaster_start_time();');
  if (restarted.join() !== started.join()) throw new OperationError(`the server on ${r.host.name} restarted during the restore; tables loaded unlogged may have lost their rows: run the refresh again`);
}

/** Make the incoming database for this run, owned by the refresh role and closed to everyone else. A database of that
 *  name already there is dropped only when it is a refresh's work copy (`replace`) or this very run made it: the
 *  restore-production runbook leaves its copy for the operator to put in service, and never drops it again. */
async function createIncoming(ctx: ActionContext, r: ReturnType<typeof refreshOf>, incoming: string, replace: boolean): Promise<Login> {
  const conn = await ctx.pool.get(r.target);
  const [found] = await query(conn, r.target, 'postgres', `SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${sqlLiteral(incoming)};`);
  if (found && !replace && found[0] !== incomingMark(ctx.runId))
    throw new SafetyRefusal(`${incoming} already exists on ${r.target.name} and this run did not make it: it may be the database the application now uses (restore-production leaves its copy there). Rename or drop it yourself, then run again`);
  const login = await openLogin(conn, r.target, r.spec.to.database);
  await query(conn, r.target, 'postgres', `${found ? `DROP DATABASE IF EXISTS ${sqlIdent(incoming)} WITH (FORCE);\n` : ''}${createIncomingSql(incoming, login.role, ctx.runId)}`);
  await checkLogin(conn, r.target, incoming, login);
  return login;
}

export const restoreAction: Action = {
  name: 'refresh.restore',
  summary: 'restore into a new database beside the live one, as a plain role, with parallel jobs (with scrub rules: scrubbed before its indexes are built, scanned for personal data while they are built)',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `restore into ${sideNames(r.spec.to.database).incoming} on ${r.target.name} as ${refreshRole(r.spec.to.database)} (the live ${r.spec.to.database} is not touched), ${String(p.jobs ?? 'auto')} jobs${r.spec.scrub ? `, scrubbed by ${r.spec.scrub} before indexes are built` : ''}`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const db = r.spec.to.database;
    const { incoming } = sideNames(db);
    const conn = await ctx.pool.get(r.target);
    const rules = r.spec.scrub ? rulesOf(r.spec.scrub) : undefined; // invalid rules fail before anything is dropped
    const maintenanceWorkMem = String(p.maintenance_work_mem ?? '256MB');
    if (!/^\d+(kB|MB|GB)$/.test(maintenanceWorkMem)) throw new UserError(`maintenance_work_mem: '${maintenanceWorkMem}' is not a size like 256MB`);
    const dir = String(p.dir);
    // the new database, and what is in the dump and on the host, asked at the same time (the copy closed to others)
    const [login, found] = await Promise.all([
      createIncoming(ctx, r, incoming, p.refresh !== undefined),
      conn.run(`chmod -R go-rwx ${shq(dir)} && if [ -d ${shq(`${dir}/dump`)} ]; then echo ${shq(`${dir}/dump`)}; else echo ${shq(`${dir}/dump.pgdump`)}; fi; nproc`),
    ]);
    if (found.code !== 0) throw new OperationError(`${r.target.name}: no copied backup in ${dir} (exit ${found.code})\n${tail(found.stderr)}`);
    const [dump, nproc] = found.stdout.trim().split('\n');
    const jobs = Number(p.jobs ?? r.spec.jobs ?? 0) || Number(nproc) || 2;
    const sql = (text: string) => runSql(conn, r.target, incoming, text, login);
    const restore: Restore = { conn, host: r.target, database: incoming, login, dump, jobs, maintenanceWorkMem, sql };
    const contents = await readDump(restore, Boolean(rules));
    contents.toc = await prepareIncoming(restore, contents.toc, dir, ctx.log);
    const touched = rules ? Object.keys(rules.tables) : [];
    const unsafe = rules ? scrubBeforeIndexesUnsafe(contents.postSql) ?? (touched.some((t) => /\s/.test(t)) ? 'a table the rules name has a space in its name' : undefined) : undefined;
    if (unsafe) ctx.log(`restoring everything before the scrub step: ${unsafe}`);
    let scrubbed = '';
    if (rules && !unsafe) {
      await restoreScrubbed(restore, rules, r.spec.scrub, r.spec.promote?.accounts ?? [], dir, contents, ctx.log);
      scrubbed = rulesHash(rules);
    } else {
      await saveFile(restore, `${dir}/everything.list`, contents.toc);
      await pgRestore(restore, `-L ${shq(`${dir}/everything.list`)}`, 'everything');
    }
    const [[tables]] = await sql("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema')");
    ctx.log(`restored ${tables} tables into ${incoming} as ${login.role} (not a superuser) with ${jobs} jobs`);
    // scrubbed and scanned by these rules while restoring: the scrub and pii-scan steps check it is still these rules
    return { database: incoming, scrubbed, scanned: scrubbed };
  },
};
