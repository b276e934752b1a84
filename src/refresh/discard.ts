// The end of a run into a target database: on failure, nothing readable left behind (the incoming copy this run made
// dropped, or with --keep-failed closed to all but postgres; the copied backup removed; the refresh role unable to log
// in); for restore-production, the checked copy handed to its owner role.
import { OperationError, UserError } from '../core/errors.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import { PATHS } from '../backup/render.js';
import { tail } from '../connectors/output.js';
import { ownerOf, sideNames, type Refresh, type StepRun } from './db.js';
import { closeLogin, databaseMark, handOver, incomingMark, refreshRole, sqlOn } from './login.js';
import { fetchUnderWay, liftMarkScript, runToken, stopCopyScript } from './fetch-group.js';
import { leftOutDir } from './left-out.js';
import { reopenSql } from './swap.js';
import { sqlRows } from '../connectors/sql.js';

/** The copied backup's folder of a run (pure): the copy step's `dir`, else the one a backup id gives; undefined when
 *  neither is known (the run failed before it picked one). Only a folder directly under the refresh directory. */
export function copiedDir(p: { dir?: unknown; id?: unknown }): string | undefined {
  const dir = typeof p.dir === 'string' && p.dir ? p.dir : typeof p.id === 'string' && p.id ? `${PATHS.refreshDir}/${p.id}` : undefined;
  if (dir === undefined) return undefined;
  const name = dir.startsWith(`${PATHS.refreshDir}/`) ? dir.slice(PATHS.refreshDir.length + 1) : '';
  if (!/^[A-Za-z0-9._-]+$/.test(name) || /^\.+$/.test(name)) throw new UserError(`'${dir}' is not a copied backup under ${PATHS.refreshDir}`);
  return dir;
}

/** After a failure: drop the incoming copy this run made (with `keep`: close it to all but postgres), remove the copied
 *  backup in `dir`, end the refresh role's login, reopen the databases an interrupted swap may have closed; each done
 *  even when another fails, every problem reported at the end. */
export async function discardRun(run: StepRun, r: Refresh, o: { dir: string | undefined; keep: boolean }): Promise<void> {
  const { incoming } = sideNames(r.spec.to.database);
  const conn = await run.pool.get(r.target);
  const problems: string[] = [];
  const attempt = (what: string, work: () => Promise<unknown>) => work().catch((e: Error) => void problems.push(`${what}: ${e.message}`));
  const dir = o.dir;
  if (dir)
    await attempt(`removing ${dir}`, async () => {
      const res = await conn.run(stopCopyScript(dir, runToken())); // a copy still fetching is stopped first
      if (res.code !== 0) throw new OperationError(`exit ${res.code}\n${tail(res.stderr)}`);
      // this process's fetch command, stopped or refused by the mark, has ended: the mark is lifted (at most 30 s later)
      await Promise.race([fetchUnderWay(dir), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
      const lifted = await conn.run(liftMarkScript(dir));
      if (lifted.code !== 0) throw new OperationError(`exit ${lifted.code}\n${tail(lifted.stderr)}`);
      run.log(`removed the copied backup ${dir}`);
    });
  await attempt(`the incoming ${incoming}`, async () => {
    const found = await databaseMark(conn, r.target, incoming);
    if (found === undefined) return;
    if (found !== incomingMark(run.runId)) return run.log(`${incoming} was not made by this run: left as it is`);
    if (o.keep) {
      await sqlRows(conn, sqlOn(r.target, 'postgres'), `ALTER DATABASE ${sqlIdent(incoming)} OWNER TO postgres;\nREVOKE ALL ON DATABASE ${sqlIdent(incoming)} FROM PUBLIC;\nSELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(incoming)} AND pid <> pg_backend_pid();`);
      return run.log(`${incoming} kept (--keep-failed), UNSCRUBBED: only postgres can connect to it; drop it when done (DROP DATABASE "${incoming}")`);
    }
    await sqlRows(conn, sqlOn(r.target, 'postgres'), `DROP DATABASE ${sqlIdent(incoming)} WITH (FORCE);`);
    run.log(`dropped ${incoming}`);
  });
  // the SQL restore-production kept of what it left out, for a copy that now never goes into service
  await attempt('removing the SQL of what the restore left out', async () => {
    const res = await conn.run(`rm -rf ${shq(leftOutDir(run.runId))}`);
    if (res.code !== 0) throw new OperationError(`exit ${res.code}\n${tail(res.stderr)}`);
  });
  await attempt(`closing the login of ${refreshRole(r.spec.to.database)}`, () => closeLogin(conn, r.target, r.spec.to.database));
  // a swap ended half-way (interrupted) never leaves a database refusing connections
  const { previous } = sideNames(r.spec.to.database);
  await attempt('reopening the databases', () => sqlRows(conn, sqlOn(r.target, 'postgres'), reopenSql([r.spec.to.database, incoming, previous])));
  if (problems.length) throw new OperationError(`cleaning up after the failure on ${r.target.name} was not complete:\n  - ${problems.join('\n  - ')}`);
}

/** restore-production's hand-over: the checked copy becomes the owner role's, open to sessions; the refresh role logs
 *  in no more. */
export async function handOverIncoming(run: StepRun, r: Refresh): Promise<{ database: string }> {
  const { incoming } = sideNames(r.spec.to.database);
  const conn = await run.pool.get(r.target);
  const owner = ownerOf(r.target, r.spec.to.database);
  await handOver(conn, r.target, { database: incoming, owner, role: refreshRole(r.spec.to.database) });
  await closeLogin(conn, r.target, r.spec.to.database);
  run.log(`${incoming} is owned by ${owner} and open to sessions; ironclad will not drop it`);
  return { database: incoming };
}
