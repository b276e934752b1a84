// The end of a run into a target database: on failure, nothing readable left behind (the incoming copy this run made
// dropped, or with --keep-failed closed to all but postgres; the copied backup removed; the refresh role unable to log
// in); for restore-production, the checked copy handed to its owner role.
import { OperationError, UserError } from '../core/errors.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import { PATHS } from '../backup/render.js';
import { tail } from '../executor/run.js';
import type { Action } from '../runbook/types.js';
import { ownerOf, query, refreshOf, sideNames } from './db.js';
import { closeLogin, databaseMark, handOver, incomingMark, refreshRole } from './login.js';
import { reopenSql } from './swap.js';

/** The copied backup's folder of a run (pure): the copy step's `dir`, else the one a backup id gives; undefined when
 *  neither is known (the run failed before it picked one). Only a folder directly under the refresh directory. */
export function copiedDir(p: Record<string, unknown>): string | undefined {
  const dir = typeof p.dir === 'string' && p.dir ? p.dir : typeof p.id === 'string' && p.id ? `${PATHS.refreshDir}/${p.id}` : undefined;
  if (dir === undefined) return undefined;
  const name = dir.startsWith(`${PATHS.refreshDir}/`) ? dir.slice(PATHS.refreshDir.length + 1) : '';
  if (!/^[A-Za-z0-9._-]+$/.test(name) || /^\.+$/.test(name)) throw new UserError(`'${dir}' is not a copied backup under ${PATHS.refreshDir}`);
  return dir;
}

export const discardAction: Action = {
  name: 'refresh.discard',
  summary: "after a failure: drop the incoming copy this run made (or, kept, close it to all but postgres), remove the copied backup, end the refresh role's login",
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    const { incoming } = sideNames(r.spec.to.database);
    return `on ${r.target.name}: ${p.keep === true || p.keep === 'true' ? `keep ${incoming} for postgres only` : `drop ${incoming} if this run made it`}, remove the copied backup`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const { incoming } = sideNames(r.spec.to.database);
    const conn = await ctx.pool.get(r.target);
    const problems: string[] = [];
    const attempt = (what: string, work: () => Promise<unknown>) => work().catch((e: Error) => void problems.push(`${what}: ${e.message}`));
    const dir = copiedDir(p);
    if (dir)
      await attempt(`removing ${dir}`, async () => {
        const res = await conn.run(`rm -rf ${shq(dir)}`);
        if (res.code !== 0) throw new OperationError(`exit ${res.code}\n${tail(res.stderr)}`);
        ctx.log(`removed the copied backup ${dir}`);
      });
    await attempt(`the incoming ${incoming}`, async () => {
      const found = await databaseMark(conn, r.target, incoming);
      if (found === undefined) return;
      if (found !== incomingMark(ctx.runId)) return ctx.log(`${incoming} was not made by this run: left as it is`);
      if (p.keep === true || p.keep === 'true') {
        await query(conn, r.target, 'postgres', `ALTER DATABASE ${sqlIdent(incoming)} OWNER TO postgres;\nREVOKE ALL ON DATABASE ${sqlIdent(incoming)} FROM PUBLIC;\nSELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${sqlLiteral(incoming)} AND pid <> pg_backend_pid();`);
        return ctx.log(`${incoming} kept (--keep-failed), UNSCRUBBED: only postgres can connect to it; drop it when done (DROP DATABASE "${incoming}")`);
      }
      await query(conn, r.target, 'postgres', `DROP DATABASE ${sqlIdent(incoming)} WITH (FORCE);`);
      ctx.log(`dropped ${incoming}`);
    });
    await attempt(`closing the login of ${refreshRole(r.spec.to.database)}`, () => closeLogin(conn, r.target, r.spec.to.database));
    // a swap ended half-way (interrupted) never leaves a database refusing connections
    const { previous } = sideNames(r.spec.to.database);
    await attempt('reopening the databases', () => query(conn, r.target, 'postgres', reopenSql([r.spec.to.database, incoming, previous])));
    if (problems.length) throw new OperationError(`cleaning up after the failure on ${r.target.name} was not complete:\n  - ${problems.join('\n  - ')}`);
  },
};

export const handOverAction: Action = {
  name: 'restore.hand_over',
  summary: 'give the restored and checked copy to the database owner role and let sessions in; the refresh role logs in no more',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `on ${r.target.name}: ${sideNames(r.spec.to.database).incoming} becomes ${ownerOf(r.target, r.spec.to.database)}'s`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const { incoming } = sideNames(r.spec.to.database);
    const conn = await ctx.pool.get(r.target);
    await handOver(conn, r.target, { database: incoming, owner: ownerOf(r.target, r.spec.to.database), role: refreshRole(r.spec.to.database) });
    await closeLogin(conn, r.target, r.spec.to.database);
    ctx.log(`${incoming} is owned by ${ownerOf(r.target, r.spec.to.database)} and open to sessions; ironclad will not drop it`);
    return { database: incoming };
  },
};
