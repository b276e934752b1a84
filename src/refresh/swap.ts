// The swap (live -> __previous, incoming -> live, in one transaction) and the swap back. No database is left refusing
// connections on any path.
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { sqlIdent, sqlLiteral } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { ownerOf, sideNames, type Refresh, type StepRun } from './db.js';
import { refuseProduction } from './guard.js';
import { closeLogin, databaseMark, handOver, refreshRole, sqlOn } from './login.js';
import { rulesOf, scanProof } from './transform.js';
import { sqlRows } from '../connectors/sql.js';

/** SQL that renames databases in one transaction after closing every session on them (pure). The ended sessions are
 *  waited for (at most 2 s, polled every 10 ms); one still there makes the rename fail, and the swap tries again. */
export function renameSql(renames: [string, string][], closing: string[]): string {
  const names = closing.map((n) => `'${n.replace(/'/g, "''")}'`).join(', ');
  const others = `FROM pg_stat_activity WHERE datname IN (${names}) AND pid <> pg_backend_pid()`;
  return [
    ...closing.map((n) => `ALTER DATABASE ${sqlIdent(n)} ALLOW_CONNECTIONS false;`),
    `SELECT count(pg_terminate_backend(pid)) ${others};`,
    `DO $$ BEGIN FOR i IN 1..200 LOOP EXIT WHEN NOT EXISTS (SELECT 1 ${others}); PERFORM pg_sleep(0.01); END LOOP; END $$;`,
    'BEGIN;',
    ...renames.map(([from, to]) => `ALTER DATABASE ${sqlIdent(from)} RENAME TO ${sqlIdent(to)};`),
    'COMMIT;',
  ].join('\n');
}

/** SQL that lets sessions into whichever of the named databases exist and refuse them (pure): every failure path of a
 *  swap ends with it, so that no database is left refusing connections. */
export function reopenSql(names: string[]): string {
  return `DO $ironclad$ DECLARE d text; BEGIN FOR d IN SELECT datname FROM pg_database WHERE datname IN (${names.map(sqlLiteral).join(', ')}) AND NOT datallowconn LOOP EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS true', d); END LOOP; END $ironclad$;`;
}

/** Rename databases (closing sessions), trying again a few times; every database involved accepts connections again
 *  after each failed attempt. */
export async function renameReopening(conn: Connector, host: Host, renames: [string, string][], closing: string[]): Promise<void> {
  const names = [...new Set(renames.flat())];
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await sqlRows(conn, sqlOn(host, 'postgres'), `${renameSql(renames, closing)}\n${reopenSql(names)}`);
      return;
    } catch (e) {
      lastError = e;
      await sqlRows(conn, sqlOn(host, 'postgres'), reopenSql(names)).catch(() => undefined);
    }
  }
  await sqlRows(conn, sqlOn(host, 'postgres'), reopenSql(names)); // one more: a failure here is reported, never silent
  throw lastError;
}

/** Put `incoming` in place of `database` on a host, the one function behind the staging refresh's swap and
 *  restore-production's: the copy handed to the owner role, the restoring role's login closed, sessions on both ended,
 *  then in one transaction `database` renamed to `keepAs` (when it exists) and `incoming` to `database`. A database
 *  already named `keepAs` is dropped only with `replaceKept` (the refresh's __previous); otherwise the swap is refused
 *  before anything changes. Returns the name the old database is kept under (null when there was none). */
export async function swapIn(conn: Connector, host: Host, o: { database: string; incoming: string; keepAs: string; replaceKept: boolean; owner: string; role: string }): Promise<{ kept: string | null }> {
  const { database: db, incoming, keepAs } = o;
  const present = new Set((await sqlRows(conn, sqlOn(host, 'postgres'), `SELECT datname FROM pg_database WHERE datname IN (${[db, incoming, keepAs].map(sqlLiteral).join(', ')})`)).map(([n]) => n));
  if (!present.has(incoming)) throw new OperationError(`${incoming} does not exist on ${host.name}: nothing to swap in`);
  if (present.has(keepAs) && !o.replaceKept) throw new SafetyRefusal(`${keepAs} already exists on ${host.name}: the swap keeps ${db} under that name and drops nothing; nothing was changed`);
  const mark = await databaseMark(conn, host, incoming);
  await handOver(conn, host, { database: incoming, owner: o.owner, role: o.role });
  await closeLogin(conn, host, db);
  if (present.has(keepAs)) await sqlRows(conn, sqlOn(host, 'postgres'), `DROP DATABASE ${sqlIdent(keepAs)} WITH (FORCE);`);
  const renames: [string, string][] = present.has(db) ? [[db, keepAs], [incoming, db]] : [[incoming, db]];
  try {
    await renameReopening(conn, host, renames, [db, incoming].filter((n) => present.has(n)));
  } catch (e) {
    // not renamed: the copy keeps its run's mark, so that the run's failure path still knows it as its own
    if (mark) await sqlRows(conn, sqlOn(host, 'postgres'), `COMMENT ON DATABASE ${sqlIdent(incoming)} IS ${sqlLiteral(mark)};`).catch(() => undefined);
    throw e;
  }
  return { kept: present.has(db) ? keepAs : null };
}

/** The staging refresh's swap, with the scan's proof (refused without it, or with a proof of other rules, before any
 *  host is asked): the production guard once more, then the incoming copy in place of the live database, kept as __previous. */
export async function swapRefresh(run: StepRun, r: Refresh, o: { proof: string | undefined }): Promise<{ live: string; previous: string | null }> {
  const db = r.spec.to.database;
  const { previous, incoming } = sideNames(db);
  if (!r.spec.scrub || o.proof !== scanProof(incoming, rulesOf(r.spec.scrub)))
    throw new SafetyRefusal(`no clean scan of ${incoming} by the scrub rules as they are now in ${r.spec.scrub || '(none)'}: the swap puts only a scrubbed and scanned copy in place`);
  await refuseProduction(run, r.target); // once more, right before the only destructive step
  const conn = await run.pool.get(r.target);
  const { kept } = await swapIn(conn, r.target, { database: db, incoming, keepAs: previous, replaceKept: true, owner: ownerOf(r.target, db), role: refreshRole(db) });
  run.log(`${db} is the refreshed copy, owned by ${ownerOf(r.target, db)}; the old one is kept as ${previous} (ironclad refresh ${r.name} --swap-back puts it back)`);
  return { live: db, previous: kept };
}

/** Put the previous database back in place; the refreshed one becomes __previous. */
export async function swapBack(run: StepRun, r: Refresh): Promise<void> {
  await refuseProduction(run, r.target);
  const db = r.spec.to.database;
  const { previous } = sideNames(db);
  const swapName = `${db}__swap`;
  const conn = await run.pool.get(r.target);
  const present = new Set((await sqlRows(conn, sqlOn(r.target, 'postgres'), `SELECT datname FROM pg_database WHERE datname IN (${[db, previous, swapName].map(sqlLiteral).join(', ')})`)).map(([n]) => n));
  if (!present.has(previous)) throw new OperationError(`${previous} does not exist on ${r.target.name}: refresh ${r.name} has nothing to swap back (no refresh kept one)`);
  if (present.has(swapName)) throw new OperationError(`${swapName} exists on ${r.target.name} (left by an interrupted swap back?): rename it yourself first`);
  await renameReopening(conn, r.target, [[db, swapName], [previous, db], [swapName, previous]], [db, previous]);
  run.log(`${db} is the previous database again; the refreshed one is ${previous}`);
}
