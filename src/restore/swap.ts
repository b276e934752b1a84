// restore-production's swap, behind the typed confirmation: the restored copy this run made takes the live database's
// place, and the live (damaged) one is kept under a name with its time, for forensics. Nothing is dropped; sessions are
// closed out before one transaction renames both; the swap back exchanges them again, also dropping nothing.
import { sqlRows } from '../connectors/sql.js';
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { sqlLiteral } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { ownerOf, sideNames, type Refresh, type StepRun } from '../refresh/db.js';
import { databaseMark, incomingMark, refreshRole, sqlOn } from '../refresh/login.js';
import { renameReopening, swapIn } from '../refresh/swap.js';
import { isKeptName, keptName } from './names.js';

/** The databases of `host` whose names start with `db__` (and `db` itself when `withLive`). */
async function takenNames(conn: Connector, host: Host, db: string, withLive: boolean): Promise<Set<string>> {
  const like = `datname LIKE ${sqlLiteral(`${db.replace(/[\\%_]/g, '\\$&')}\\_\\_%`)}`;
  return new Set((await sqlRows(conn, sqlOn(host, 'postgres'), `SELECT datname FROM pg_database WHERE ${like}${withLive ? ` OR datname = ${sqlLiteral(db)}` : ''};`)).map(([n]) => n));
}

/** Put this run's checked copy (backup `id`, data as of `time`) in place of the live database, keeping the live one as
 *  <db>__damaged_<UTC time>; refused when the cluster is no longer `systemIdentifier` or the copy is not this run's. */
export async function restoreSwap(ctx: StepRun, r: Refresh, o: { id: string; time: string; systemIdentifier?: string }): Promise<{ live: string; kept: string | null }> {
  const db = r.spec.to.database;
  const { incoming } = sideNames(db);
  const conn = await ctx.pool.get(r.target);
  // the cluster is still the one the operator confirmed, and the copy is this run's own
  const [[sysid]] = await sqlRows(conn, sqlOn(r.target, 'postgres'), 'SELECT system_identifier FROM pg_control_system();');
  if (o.systemIdentifier !== undefined && o.systemIdentifier !== sysid)
    throw new SafetyRefusal(`${r.target.name} now runs cluster ${sysid}, not ${o.systemIdentifier} as its target step found: nothing was changed`);
  const mark = await databaseMark(conn, r.target, incoming);
  if (mark !== incomingMark(ctx.runId)) throw new SafetyRefusal(`${incoming} on ${r.target.name} ${mark === undefined ? 'does not exist' : 'was not made by this run'}: the swap puts only this run's checked copy in place; nothing was changed`);
  const keep = keptName(db, 'damaged', new Date(), await takenNames(conn, r.target, db, false));
  const owner = ownerOf(r.target, db);
  const { kept } = await swapIn(conn, r.target, { database: db, incoming, keepAs: keep, replaceKept: false, owner, role: refreshRole(db) });
  ctx.log(`${db} on ${r.target.name} is now backup ${o.id} (data as of ${o.time}), owned by ${owner}`);
  if (kept) ctx.log(`the damaged ${db} is kept as ${kept}, untouched (nothing was dropped). To undo:\n      ironclad runbook run runbooks/restore-production-swap-back.yaml --set host=${r.target.name} --set database=${db} --set kept=${kept}`);
  else ctx.log(`there was no ${db} on ${r.target.name} before: nothing to keep`);
  return { live: db, kept };
}

/** Put a database restore-production kept (`kept`: <db>__damaged_<time>) back in place of `database` on `target`, the
 *  restored one kept as <db>__restored_<time>; nothing dropped. */
export async function restoreSwapBack(ctx: StepRun, o: { target: Host; database: string; kept: string }): Promise<{ live: string; kept: string }> {
  const { target, database: db, kept } = o;
  if (!isKeptName(db, kept, 'damaged')) throw new UserError(`--set kept=${kept}: not a database restore-production kept for ${db} (${db}__damaged_YYYYMMDDTHHMMZ, as its swap printed)`);
  const conn = await ctx.pool.get(target);
  const taken = await takenNames(conn, target, db, true);
  if (!taken.has(kept)) throw new OperationError(`${kept} does not exist on ${target.name}: nothing to swap back`);
  if (!taken.has(db)) throw new OperationError(`${db} does not exist on ${target.name}: rename ${kept} yourself if it is what you want in place`);
  const restored = keptName(db, 'restored', new Date(), taken);
  await renameReopening(conn, target, [[db, restored], [kept, db]], [db, kept]);
  ctx.log(`${db} on ${target.name} is the database from before the restore again; the restored one is kept as ${restored} (nothing was dropped)`);
  return { live: db, kept: restored };
}
