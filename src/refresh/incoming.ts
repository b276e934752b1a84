// The restore into a new database beside the live one, owned by the refresh role, the dump restored into it as that
// role (scrubbed while restoring when the dump allows it, else restored whole for the scrub step); restore-production's
// also with the publications that role may make (left-out.ts).
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { shq, sqlIdent } from '../core/quote.js';
import { tail } from '../connectors/output.js';
import { sideNames, type Refresh, type StepRun } from './db.js';
import { checkLogin, createIncomingSql, databaseMark, incomingMark, openLogin, refreshRole, sqlOn } from './login.js';
import { grantsLines, restoreGrants } from './grants.js';
import { leftOutDir, type LeftOut } from './left-out.js';
import { pgRestore, prepareIncoming, readDump, saveFile, type Restore } from './prepare.js';
import { restoreScrubbed } from './restore.js';
import { rulesHash } from './scrub.js';
import { scrubBeforeIndexesUnsafe } from './toc.js';
import { rulesOf } from './transform.js';
import { sqlRows, type Login } from '../connectors/sql.js';

/** Make the incoming database for this run, owned by the refresh role and closed to everyone else. A database of that
 *  name already there is dropped only when it is a refresh's work copy (`replace`) or this very run made it: the
 *  restore-production runbook leaves its copy for the operator to put in service, and never drops it again. */
async function createIncoming(ctx: StepRun, r: Refresh, incoming: string, replace: boolean): Promise<Login> {
  const conn = await ctx.pool.get(r.target);
  const found = await databaseMark(conn, r.target, incoming);
  if (found !== undefined && !replace && found !== incomingMark(ctx.runId))
    throw new SafetyRefusal(`${incoming} already exists on ${r.target.name} and this run did not make it: it may be the database the application now uses (restore-production leaves its copy there). Rename or drop it yourself, then run again`);
  const login = await openLogin(conn, r.target, r.spec.to.database);
  await sqlRows(conn, sqlOn(r.target, 'postgres'), `${found !== undefined ? `DROP DATABASE IF EXISTS ${sqlIdent(incoming)} WITH (FORCE);\n` : ''}${createIncomingSql(incoming, login.role, ctx.runId)}`);
  await checkLogin(conn, r.target, incoming, login);
  return login;
}

/** What the restore made: the incoming database, the hash of the rules it was scrubbed and scanned by while restoring
 *  ('' when the scrub step must do it), and production's grants as restored. */
export type Restored = { database: string; scrubbed: string; scanned: string; grants: Awaited<ReturnType<typeof restoreGrants>>; publications: string[]; left_out: LeftOut[] };

/** Restore the copied backup in `dir` into a new database beside the live one, as the refresh role, with `jobs`
 *  parallel jobs (else the refresh's, else one per CPU of the target); with scrub rules, scrubbed before its indexes
 *  are built and scanned while they are built, when the dump allows it. `replace`: a refresh's leftover work copy may
 *  be dropped first. */
export async function restoreIncoming(ctx: StepRun, r: Refresh, o: { dir: string; jobs?: number; maintenanceWorkMem: string; replace: boolean; publications?: boolean }): Promise<Restored> {
  const db = r.spec.to.database;
  const { incoming } = sideNames(db);
  // a refresh's copy never replicates from or to production: its publications stay out whatever a runbook says
  if (o.publications && (o.replace || r.spec.scrub)) throw new UserError('publications: true is for restore-production only: a staging copy never replicates from or to production');
  const conn = await ctx.pool.get(r.target);
  const rules = r.spec.scrub ? rulesOf(r.spec.scrub) : undefined; // invalid rules fail before anything is dropped
  const { dir, maintenanceWorkMem } = o;
  if (!/^\d+(kB|MB|GB)$/.test(maintenanceWorkMem)) throw new UserError(`maintenance_work_mem: '${maintenanceWorkMem}' is not a size like 256MB`);
  // the new database, and what is in the dump and on the host, asked at the same time (the copy closed to others)
  const [login, found] = await Promise.all([
    createIncoming(ctx, r, incoming, o.replace),
    conn.run(`chmod -R go-rwx ${shq(dir)} && if [ -d ${shq(`${dir}/dump`)} ]; then echo ${shq(`${dir}/dump`)}; else echo ${shq(`${dir}/dump.pgdump`)}; fi; nproc`),
  ]);
  if (found.code !== 0) throw new OperationError(`${r.target.name}: no copied backup in ${dir} (exit ${found.code})\n${tail(found.stderr)}`);
  const [dump, nproc] = found.stdout.trim().split('\n');
  const jobs = Number(o.jobs ?? r.spec.jobs ?? 0) || Number(nproc) || 2;
  const sql = (text: string) => sqlRows(conn, sqlOn(r.target, incoming, login), text);
  const restore: Restore = { conn, host: r.target, database: incoming, login, dump, jobs, maintenanceWorkMem, sql };
  const contents = await readDump(restore, Boolean(rules));
  const keep = o.publications ? { dir: leftOutDir(ctx.runId), host: r.target.name, database: db } : undefined;
  const prepared = await prepareIncoming(restore, contents.toc, dir, ctx.log, keep);
  contents.toc = prepared.list;
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
  return { database: incoming, scrubbed, scanned: scrubbed, grants, publications: prepared.restored, left_out: prepared.leftOut };
}
