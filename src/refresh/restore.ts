// Restore a backup beside the live database, in parallel. With scrub rules, the scrub happens while restoring: tables
// are loaded without their indexes and constraints, the scrub rewrites them once, then indexes and constraints are built
// on the scrubbed rows. Much cheaper than a scrub after a full restore, which updates every index entry of every row.
import { OperationError } from '../core/errors.js';
import { limiter } from '../core/limiter.js';
import { shq, sqlLiteral } from '../core/quote.js';
import { fanOut } from '../executor/fanout.js';
import { query } from './db.js';
import { fakeKey } from './fakekey.js';
import { tableLabel, tableRegclass, tableSql } from './names.js';
import { pgRestore, saveFile, type Dump, type Restore } from './prepare.js';
import { columnTypes, columnTypesSql, keepWhereReadsOthers, scrubOrder, scrubWhileRestoringSql } from './restore-scrub.js';
import { CATALOG_SQL, catalogOf, checkRules, piiFindings, piiRefusal, scanSummary, unpopulated, type Relation } from './scan.js';
import { scrubPlan, scrubTables, type ScrubRules } from './scrub.js';
import { dataOf, onlyDataOf, parallelForeignKeys, postDataByTable, uniqueKeys, withoutDataOf, type UniqueKey } from './toc.js';

const PERSISTENCE = "SELECT c.oid::regclass::text || ':' || c.relpersistence::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind NOT IN ('i', 'I') ORDER BY 1;";

/** Tables as the operator reads them (bare names in public). */
const labels = (tables: string[]) => tables.map(tableLabel).join(', ');

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** A promise with its resolve and reject at hand; settled once (a rejection nobody awaits is not reported as such). */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
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
export async function restoreScrubbed(r: Restore, rules: ScrubRules, file: string, accounts: string[], dir: string, dump: Dump, log: (l: string) => void): Promise<void> {
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
  const why = spread.length ? `${labels(spread)} ${spread.length > 1 ? 'have' : 'has'} partitions or child tables, loaded with the other tables` : 'a keep_where reads other tables';
  const loadOthers = async () => {
    const t0 = Date.now();
    await pgRestore(r, `--section=data -L ${shq(list)}`, 'data', Math.max(1, jobs - scrubJobs));
    log(`the other tables' data loaded in ${seconds(t0)}${waits ? ` (the scrub waited for them: ${why})` : ', beside the scrub'}${truncated.length ? ` (not the data of ${labels(truncated)}: the scrub rules empty them)` : ''}`);
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
          (e: Error) => (log(`${tableLabel(u.table)}: one ALTER TABLE could not rewrite it (${/ERROR: +(.*)/.exec(e.message)?.[1] ?? e.message.split('\n')[0]}); updated instead`), false),
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
      log(`the scrubbed tables' data loaded in ${((loadedAt - t0) / 1000).toFixed(1)} s (${labels(loadOrder)}; each scrubbed as soon as it was in)`);
      failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    }
    if (failures.length) throw failures[0];
    const how = copied.length ? `; ${labels(copied)} copied once with the new values by ALTER TABLE ... SET LOGGED, ALTER COLUMN ... USING` : '';
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
  // materialized views are made by the post-data, from the scrubbed rows: scanned now that they are
  const views = unpopulated(catalog);
  const late = views.length ? catalogOf(await r.sql(CATALOG_SQL)) : new Map<string, Relation>();
  const viewFindings = views.length ? await piiFindings(r.conn, r.host, r.database, rules, new Map(views.flatMap((v) => (late.has(v) ? [[v, late.get(v)!]] : []))), r.login) : [];
  if (views.length) log(`scanned ${views.length} materialized views made from the scrubbed rows`);
  const findings = [...(await scanned), ...viewFindings];
  if (findings.length) throw piiRefusal(findings, file);
  // a crash restart while tables were UNLOGGED empties them: their rows would be silently gone
  const restarted = await r.sql('SELECT pg_postmaster_start_time();');
  if (restarted.join() !== started.join()) throw new OperationError(`the server on ${r.host.name} restarted during the restore; tables loaded unlogged may have lost their rows: run the refresh again`);
}
