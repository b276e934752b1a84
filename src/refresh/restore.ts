// Restore a backup beside the live database, in parallel. With scrub rules, the scrub happens while restoring: tables
// are loaded without their indexes and constraints, the scrub rewrites them once, then indexes and constraints are built
// on the scrubbed rows. Much cheaper than a scrub after a full restore, which updates every index entry of every row.
import { OperationError } from '../core/errors.js';
import { limiter } from '../core/limiter.js';
import { shq, sqlLiteral } from '../core/quote.js';
import { runGraph } from '../core/graph.js';
import { sqlOn } from './login.js';
import { fakeKey } from './fakekey.js';
import { tableLabel, tableRegclass, tableSql } from './names.js';
import { buildSettings, pgRestore, saveFile, type Dump, type Restore } from './prepare.js';
import { restoreTasks, type Work } from './restore-graph.js';
import { columnTypes, columnTypesSql, keepWhereReadsOthers, scrubOrder, scrubWhileRestoringSql } from './restore-scrub.js';
import { CATALOG_SQL, catalogOf, checkRules, piiFindings, piiRefusal, scanSummary, unpopulated, type Relation } from './scan.js';
import { scrubPlan, scrubTables, type ScrubRules } from './scrub.js';
import { restoreLists } from './restore-lists.js';
import { dataOf, onlyDataOf, type UniqueKey } from './toc.js';
import { sqlRows } from '../connectors/sql.js';

const PERSISTENCE = "SELECT c.oid::regclass::text || ':' || c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind NOT IN ('i', 'I') ORDER BY 1;";

/** Tables as the operator reads them (bare names in public). */
const labels = (tables: string[]) => tables.map(tableLabel).join(', ');

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** Restore in three sections (tables, data, indexes and constraints) with the scrub between data and indexes: the
 *  rewritten plain tables are loaded UNLOGGED (no WAL for rows the scrub replaces) and become LOGGED again in their
 *  scrub transaction; the tables are scrubbed in parallel, the truncated ones are never loaded. The rewritten tables
 *  are loaded and scrubbed while the other tables' data loads beside them (the jobs shared between the two).
 *  Indexes and constraints are built as soon as their table is final: those of the tables the rules do not touch
 *  when their data is in (beside the scrub), those of each table the rules rewrite or empty after its scrub, anything
 *  not on one table after all of them. Each foreign key is added NOT VALID (no row read) and validated as soon as
 *  both its tables are built, up to `jobs` at once: the same constraints, checked the same way as pg_restore's ADD
 *  CONSTRAINT, which would add them one after another, each reading its whole table, after every index. */
export async function restoreScrubbed(r: Restore, rules: ScrubRules, file: string, accounts: string[], dir: string, dump: Dump, log: (l: string) => void): Promise<void> {
  const { truncated, updated } = scrubTables(rules);
  const touched = [...updated, ...truncated];
  const list = `${dir}/restore.list`;
  const rewritten = `${dir}/rewritten.list`;
  const { keys, post, uniques, others, own, loadOrder, restBuildsKeys, listOf, ...lists } = restoreLists(dump, rules);
  const save = (path: string, text: string) => saveFile(r, path, text);
  let since = Date.now();
  const [started] = await Promise.all([
    r.sql('SELECT pg_postmaster_start_time();'),
    save(list, lists.list),
    save(rewritten, lists.rewritten),
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
  // the scrub waits for all the data when a keep_where reads other tables (it must see them whole), and when a table
  // it touches is partitioned or inherited (its rows are loaded into the partitions, with the other tables' data)
  const waits = keepWhereReadsOthers(rules, dump.toc.split('\n').flatMap((l) => dataOf(l) ?? [])) || spread.length > 0;
  const why = spread.length ? `${labels(spread)} ${spread.length > 1 ? 'have' : 'has'} partitions or child tables, loaded with the other tables` : 'a keep_where reads other tables';
  const sql = scrubWhileRestoringSql(scrubPlan(rules, accounts), unlogged, columns, keyHex);
  const updates = new Map(sql.updates.map((u) => [u.table, u]));
  const parallel = scrubOrder(rules, jobs);
  const copied: string[] = [];
  const scrubTable = async (u: (typeof sql.updates)[number]) => {
    const started = Date.now();
    if (u.rewrite) {
      const done = await r.sql(u.rewrite).then(
        () => true,
        (e: Error) => (log(`${tableLabel(u.table)}: one ALTER TABLE could not rewrite it (${/ERROR: +(.*)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]}); updated instead`), false),
      );
      if (done) return void (copied.push(u.table), log(`${tableLabel(u.table)} scrubbed in ${seconds(started)}`));
    }
    await r.sql(u.sql);
    log(`${tableLabel(u.table)} scrubbed in ${seconds(started)}`);
  };
  // index builds: of very unequal sizes, one job more than the restore's keeps the CPUs busy to the end of each group
  // (a group's primary keys and unique constraints: their unique indexes beside the others, then the constraints on them;
  // the dump's own statement when PostgreSQL refuses one)
  const settings = buildSettings(r).map(([k, v]) => `SET ${k} = ${sqlLiteral(v)};`).join('\n');
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
  const keyOf = new Map(keys.map((k) => [`${k.table} ${k.name}`, k]));
  since = Date.now();
  const t0 = since; // when the rewritten tables' data started loading, and when the last one was in
  let loadedAt = since;
  let t1 = since; // when the scrub started
  let scrubbedAt = 0;
  let keysFrom = 0;
  // one task's work (the order is restore-graph.ts's)
  const work = async (w: Work): Promise<unknown> => {
    switch (w.kind) {
      case 'load-others': {
        const started = Date.now();
        await pgRestore(r, `--section=data -L ${shq(list)}`, 'data', Math.max(1, jobs - scrubJobs));
        return log(`the other tables' data loaded in ${seconds(started)}${waits ? ` (the scrub waited for them: ${why})` : ', beside the scrub'}${truncated.length ? ` (not the data of ${labels(truncated)}: the scrub rules empty them)` : ''}`);
      }
      case 'load-scrubbed':
        // all the data, then the scrub (one after another in the rules' order when a keep_where reads a rewritten table)
        if (updated.length) await pgRestore(r, `--section=data -L ${shq(rewritten)}`, 'data of the scrubbed tables', scrubJobs);
        return log(`the scrubbed tables' data loaded in ${seconds(t0)}`);
      case 'load': {
        // each rewritten table is scrubbed as soon as its own data is in, while the next one loads
        const started = Date.now();
        await pgRestore(r, `--section=data -L ${shq(`${dir}/rewritten-${loadOrder.indexOf(w.table)}.list`)}`, `data of ${w.table}`, 1);
        loadedAt = Date.now();
        return log(`${tableLabel(w.table)}: data loaded in ${seconds(started)}`);
      }
      case 'truncate':
        t1 = Date.now();
        if (sql.truncates) await r.sql(sql.truncates);
        return;
      case 'scrub':
        return scrubTable(updates.get(w.table)!);
      case 'scrubbed': {
        scrubbedAt = Date.now();
        if (!waits) log(`the scrubbed tables' data loaded in ${((loadedAt - t0) / 1000).toFixed(1)} s (${labels(loadOrder)}; each scrubbed as soon as it was in)`);
        const how = copied.length ? `; ${labels(copied)} copied once with the new values by ALTER TABLE ... SET LOGGED, ALTER COLUMN ... USING` : '';
        return log(`scrubbed ${Object.keys(rules.tables).length} tables (one transaction per rewritten table, ${parallel > 1 ? `up to ${parallel} at once` : 'one after another'}${how}) before their indexes were built, in ${seconds(t1)}`);
      }
      case 'data':
        return log(`data loaded and scrubbed in ${seconds(since)}`);
      case 'build-others':
        return build('post-others.list', 'indexes and constraints of the other tables', jobs + 1, others);
      case 'build':
        return build(`post-${own.indexOf(w.table)}.list`, `indexes and constraints of ${w.table}`, jobs, [w.table]);
      case 'build-rest':
        if (post.rest.length) await pgRestore(r, `--section=post-data -L ${shq(`${dir}/post-rest.list`)}`, 'the other indexes and constraints', jobs + 1);
        return;
      case 'key': {
        const k = keyOf.get(`${w.table} ${w.name}`)!;
        keysFrom ||= Date.now();
        return r.sql(`BEGIN;\n${k.add}\nCOMMIT;\nALTER TABLE ONLY ${k.table} VALIDATE CONSTRAINT ${k.name};`).catch((e: Error) => {
          throw new OperationError(`foreign key ${k.name} of ${r.database} on ${r.host.name} does not hold: ${e.message}`);
        });
      }
      case 'checkpoint':
        // the swap's DROP DATABASE of the old copy forces a checkpoint, which would then write all these new pages: they
        // are written now, while the last keys are checked (which only read) (ironclad's own statement, as postgres)
        return sqlRows(r.conn, sqlOn(r.host, 'postgres'), 'CHECKPOINT;');
      case 'scan': {
        // the rows are final once scrubbed (nothing in post-data acts on them): the scan runs beside the index builds
        const started = Date.now();
        const findings = await piiFindings(r.conn, r.host, r.database, rules, catalog, r.login);
        log(`scanned ${scanSummary(rules, catalog)} for personal data beside the index build, in ${seconds(started)}`);
        return findings;
      }
    }
  };
  const tasks = restoreTasks({ updated: loadOrder, waits, others: others.length > 0, own, postTables: [...post.tables.keys()], restBuildsKeys, keys }, work);
  // everything running runs to its end before a failure is reported (nothing new starts after one): nothing keeps
  // writing into the database after this step
  const outcome = await runGraph(tasks, { load: scrubJobs, scrub: parallel, key: Math.max(1, jobs) });
  if (!outcome.ok) throw outcome.failed[0].error;
  if (keys.length) log(`${keys.length} foreign keys checked, up to ${jobs} at once, each as soon as its tables were built, in ${seconds(keysFrom)}`);
  log(`indexes and constraints built in ${seconds(scrubbedAt)} after the scrub (the other tables' from when their data was in; ${uniques.length} primary keys and unique constraints on unique indexes built beside their tables' other indexes)`);
  const after = (await r.sql(PERSISTENCE)).flat();
  if (after.join('\n') !== before.join('\n')) throw new OperationError(`${r.database} on ${r.host.name}: tables are not logged as the dump made them after the scrub`);
  // materialized views are made by the post-data, from the scrubbed rows: scanned now that they are
  const views = unpopulated(catalog);
  const late = views.length ? catalogOf(await r.sql(CATALOG_SQL)) : new Map<string, Relation>();
  const viewFindings = views.length ? await piiFindings(r.conn, r.host, r.database, rules, new Map(views.flatMap((v) => (late.has(v) ? [[v, late.get(v)!]] : []))), r.login) : [];
  if (views.length) log(`scanned ${views.length} materialized views made from the scrubbed rows`);
  const findings = [...(outcome.values.get('scan') as Awaited<ReturnType<typeof piiFindings>>), ...viewFindings];
  if (findings.length) throw piiRefusal(findings, file);
  // a crash restart while tables were UNLOGGED empties them: their rows would be silently gone
  const restarted = await r.sql('SELECT pg_postmaster_start_time();');
  if (restarted.join() !== started.join()) throw new OperationError(`the server on ${r.host.name} restarted during the restore; tables loaded unlogged may have lost their rows: run the refresh again`);
}
