// restore-production's swap, behind the typed confirmation: the restored copy this run made takes the live database's
// place, and the live (damaged) one is kept under a name with its time, for forensics. Nothing is dropped; sessions are
// closed out before one transaction renames both; the swap back exchanges them again, also dropping nothing.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { sqlLiteral } from '../core/quote.js';
import { ownerOf, refreshOf, sideNames } from '../refresh/db.js';
import { databaseMark, incomingMark, refreshRole, sqlOn } from '../refresh/login.js';
import { renameReopening, swapIn } from '../refresh/swap.js';
import { selectHosts } from '../inventory/load.js';
import type { Action } from '../runbook/types.js';
import { isKeptName, keptName } from './names.js';
import { sqlRows } from '../connectors/sql.js';

export const restoreSwapAction: Action = {
  name: 'restore.swap',
  summary: 'the restored copy takes the live database\'s place; the live one is kept as <db>__damaged_<UTC time> (sessions ended, one transaction, nothing dropped)',
  destructive: true,
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    const db = r.spec.to.database;
    const onto = typeof p.cluster === 'string' && !p.cluster.startsWith('<') ? p.cluster : r.target.name;
    return `onto ${onto}.\n       Sessions on ${db} are ended; ${db} is renamed ${db}__damaged_<now, UTC> and kept (nothing is dropped); ${sideNames(db).incoming} (backup ${String(p.id ?? '?')}, data as of ${String(p.time ?? '?')}) becomes ${db}.\n       Not in the restored data: ${String(p.lost ?? '(see the report step)')}.\n       Undo: runbooks/restore-production-swap-back.yaml`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const db = r.spec.to.database;
    const { incoming } = sideNames(db);
    const conn = await ctx.pool.get(r.target);
    // the cluster is still the one the operator confirmed, and the copy is this run's own
    const [[sysid]] = await sqlRows(conn, sqlOn(r.target, 'postgres'), 'SELECT system_identifier FROM pg_control_system();');
    if (p.system_identifier !== undefined && String(p.system_identifier) !== sysid)
      throw new SafetyRefusal(`${r.target.name} now runs cluster ${sysid}, not ${String(p.system_identifier)} as its target step found: nothing was changed`);
    const mark = await databaseMark(conn, r.target, incoming);
    if (mark !== incomingMark(ctx.runId)) throw new SafetyRefusal(`${incoming} on ${r.target.name} ${mark === undefined ? 'does not exist' : 'was not made by this run'}: the swap puts only this run's checked copy in place; nothing was changed`);
    const taken = new Set((await sqlRows(conn, sqlOn(r.target, 'postgres'), `SELECT datname FROM pg_database WHERE datname LIKE ${sqlLiteral(`${db.replace(/[\\%_]/g, '\\$&')}\\_\\_%`)};`)).map(([n]) => n));
    const keep = keptName(db, 'damaged', new Date(), taken);
    const owner = ownerOf(r.target, db);
    const { kept } = await swapIn(conn, r.target, { database: db, incoming, keepAs: keep, replaceKept: false, owner, role: refreshRole(db) });
    ctx.log(`${db} on ${r.target.name} is now backup ${String(p.id)} (data as of ${String(p.time)}), owned by ${owner}`);
    if (kept) ctx.log(`the damaged ${db} is kept as ${kept}, untouched (nothing was dropped). To undo:\n      ironclad runbook run runbooks/restore-production-swap-back.yaml --set host=${r.target.name} --set database=${db} --set kept=${kept}`);
    else ctx.log(`there was no ${db} on ${r.target.name} before: nothing to keep`);
    return { live: db, kept };
  },
};

export const restoreSwapBackAction: Action = {
  name: 'restore.swap_back',
  summary: 'put a database restore-production kept (<db>__damaged_<time>) back in place; the restored one is kept as <db>__restored_<time>; nothing dropped',
  destructive: true,
  describe: (p) => `on ${String(p.host)}: sessions on ${String(p.database)} ended; ${String(p.database)} renamed ${String(p.database)}__restored_<now, UTC> and kept; ${String(p.kept)} becomes ${String(p.database)} again (nothing is dropped)`,
  async run(p, ctx) {
    const [target] = selectHosts(ctx.inv, [String(p.host)]);
    const db = String(p.database);
    const kept = String(p.kept);
    if (!target.postgres) throw new UserError(`host '${target.name}' has no postgres: section`);
    if (!isKeptName(db, kept, 'damaged')) throw new UserError(`--set kept=${kept}: not a database restore-production kept for ${db} (${db}__damaged_YYYYMMDDTHHMMZ, as its swap printed)`);
    const conn = await ctx.pool.get(target);
    const taken = new Set((await sqlRows(conn, sqlOn(target, 'postgres'), `SELECT datname FROM pg_database WHERE datname LIKE ${sqlLiteral(`${db.replace(/[\\%_]/g, '\\$&')}\\_\\_%`)} OR datname = ${sqlLiteral(db)};`)).map(([n]) => n));
    if (!taken.has(kept)) throw new OperationError(`${kept} does not exist on ${target.name}: nothing to swap back`);
    if (!taken.has(db)) throw new OperationError(`${db} does not exist on ${target.name}: rename ${kept} yourself if it is what you want in place`);
    const restored = keptName(db, 'restored', new Date(), taken);
    await renameReopening(conn, target, [[db, restored], [kept, db]], [db, kept]);
    ctx.log(`${db} on ${target.name} is the database from before the restore again; the restored one is kept as ${restored} (nothing was dropped)`);
    return { live: db, kept: restored };
  },
};
