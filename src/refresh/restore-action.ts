// The restore step: a new database beside the live one, owned by the refresh role, the dump restored into it as that
// role (scrubbed while restoring when the dump allows it, else restored whole for the scrub step).
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { shq, sqlIdent } from '../core/quote.js';
import { tail } from '../executor/run.js';
import type { Action, ActionContext } from '../runbook/types.js';
import { query, refreshOf, sideNames } from './db.js';
import { checkLogin, createIncomingSql, databaseMark, incomingMark, openLogin, refreshRole, runSql, type Login } from './login.js';
import { grantsLines, restoreGrants } from './grants.js';
import { pgRestore, prepareIncoming, readDump, saveFile, type Restore } from './prepare.js';
import { restoreScrubbed } from './restore.js';
import { rulesHash } from './scrub.js';
import { scrubBeforeIndexesUnsafe } from './toc.js';
import { rulesOf } from './transform.js';

/** Make the incoming database for this run, owned by the refresh role and closed to everyone else. A database of that
 *  name already there is dropped only when it is a refresh's work copy (`replace`) or this very run made it: the
 *  restore-production runbook leaves its copy for the operator to put in service, and never drops it again. */
async function createIncoming(ctx: ActionContext, r: ReturnType<typeof refreshOf>, incoming: string, replace: boolean): Promise<Login> {
  const conn = await ctx.pool.get(r.target);
  const found = await databaseMark(conn, r.target, incoming);
  if (found !== undefined && !replace && found !== incomingMark(ctx.runId))
    throw new SafetyRefusal(`${incoming} already exists on ${r.target.name} and this run did not make it: it may be the database the application now uses (restore-production leaves its copy there). Rename or drop it yourself, then run again`);
  const login = await openLogin(conn, r.target, r.spec.to.database);
  await query(conn, r.target, 'postgres', `${found !== undefined ? `DROP DATABASE IF EXISTS ${sqlIdent(incoming)} WITH (FORCE);\n` : ''}${createIncomingSql(incoming, login.role, ctx.runId)}`);
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
    const unsafe = rules
      ? (scrubBeforeIndexesUnsafe(contents.postSql) ??
        (touched.some((t) => /\s/.test(t)) ? 'a table the rules name has a space in its name' : rules.fire_triggers?.length ? `the rules let the triggers of ${rules.fire_triggers.join(', ')} run for the scrub` : undefined))
      : undefined;
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
    // production's grants, for the roles this host has (nobody else may connect to the copy before the hand-over)
    const grants = await restoreGrants(restore, contents.toc, dir);
    grantsLines(grants, r.target.name).forEach((l) => ctx.log(l));
    // scrubbed and scanned by these rules while restoring: the scrub and pii-scan steps check it is still these rules
    return { database: incoming, scrubbed, scanned: scrubbed, grants };
  },
};
