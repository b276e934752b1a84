// The incoming database made ready for a dump restored by the refresh role: its schemas (by the role), the dump's
// extensions (by postgres: ironclad's own CREATE EXTENSION of a name the host has, scripts from the host's packages),
// and the entries a plain role cannot or must not restore left out (event triggers, subscriptions, publications; for
// restore-production, the publications a plain role may make are restored and the SQL of the others kept, left-out.ts).
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import { tail } from '../connectors/output.js';
import type { Host } from '../inventory/types.js';
import { sqlOn } from './login.js';
import { sqlRows, asLogin, type Login } from '../connectors/sql.js';
import { clientEnv } from '../core/psql.js';
import { LEFT_OUT, LEFT_OUT_OBJECT, NOTE_ON } from '../core/toc.js';
import { entrySql, replicationEntries, splitReplication, type LeftOut, type ReplicationEntry } from './left-out.js';

/** A restore into the incoming database, as the refresh role. */
export interface Restore {
  conn: Connector;
  host: Host;
  database: string;
  login: Login;
  dump: string;
  jobs: number | string;
  maintenanceWorkMem: string;
  /** SQL in the incoming database as the refresh role. */
  sql(text: string): Promise<string[][]>;
}

export interface Dump {
  /** The table of contents (`pg_restore -l`). */
  toc: string;
  /** Its post-data entries (`pg_restore -l --section=post-data`). */
  postList: string;
  /** The post-data SQL (`pg_restore --section=post-data -f -`). */
  postSql: string;
}

export async function readDump(r: Restore, whole: boolean): Promise<Dump> {
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

/** The settings of the restore's sessions that build indexes and check constraints (pure): pgRestore passes them as
 *  PGOPTIONS, the restore's own index builds as SET (maintenance_work_mem was checked to be a size like 256MB). No
 *  parallel workers for an index build: the restore already builds `jobs` (one per CPU) at once, and a parallel
 *  build's workers each sort a share (maintenance_work_mem split among them) and write it to temporary files for the
 *  leader to merge (bench/refresh item 19: the restore 14.27 -> 13.58 s, the scrub beside the builds ending 1.3 s
 *  sooner). */
export const buildSettings = (r: Pick<Restore, 'maintenanceWorkMem'>): [string, string][] => [
  ['maintenance_work_mem', r.maintenanceWorkMem],
  ['work_mem', '64MB'],
  ['max_parallel_maintenance_workers', '0'],
];

/** pg_restore as the refresh role (no owner, no ACL: everything it makes is its own until the hand-over). */
export async function pgRestore(r: Restore, args: string, what: string, jobs = r.jobs): Promise<void> {
  // the database through PGDATABASE (no name is ever parsed as connection options)
  const env = { PGOPTIONS: buildSettings(r).map(([k, v]) => `-c ${k}=${v}`).join(' ') };
  const client = clientEnv(r.database, `pg_restore -d '' -j ${jobs} --no-owner --no-acl --exit-on-error ${args} ${shq(r.dump)}`, env);
  const res = await r.conn.run(asLogin(r.login, client), { stdin: `${r.login.password}\n` });
  if (res.code !== 0) throw new OperationError(`pg_restore (${what}) into ${r.database} on ${r.host.name} failed (exit ${res.code}); the live database is untouched\n${tail(res.stderr || res.stdout)}`);
}

/** Write a file on the host (a restore list), readable by root only. */
export async function saveFile(r: Pick<Restore, 'conn' | 'host'>, path: string, text: string): Promise<void> {
  const saved = await r.conn.run(`umask 077 && cat > ${shq(path)}`, { stdin: text + '\n' });
  if (saved.code !== 0) throw new OperationError(`cannot write ${path} on ${r.host.name}\n${tail(saved.stderr)}`);
}

const SCHEMA = /^\d+; \d+ \d+ SCHEMA - \S+ /;
const EXTENSION = /^\d+; \d+ \d+ EXTENSION - (\S+) /;
const EXTENSION_COMMENT = /^\d+; \d+ \d+ COMMENT - EXTENSION \S+ /;

/** An identifier as pg_dump writes it, unquoted (pure); undefined for anything else. */
export function dumpedIdent(text: string): string | undefined {
  if (/^[a-z_][a-z0-9_$]*$/.test(text)) return text;
  const q = /^"((?:[^"]|"")+)"$/.exec(text);
  return q ? q[1].replace(/""/g, '"') : undefined;
}

/** The dump's extensions and the schema each goes in, from the pre-data SQL, for the names its TOC lists (pure). */
export function dumpExtensions(toc: string, preSql: string): { name: string; schema: string }[] {
  const names = new Set(toc.split('\n').flatMap((l) => EXTENSION.exec(l)?.[1] ?? []));
  const out: { name: string; schema: string }[] = [];
  for (const [, n, s] of preSql.matchAll(/^CREATE EXTENSION IF NOT EXISTS ("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*) WITH SCHEMA ("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*);$/gm)) {
    const name = dumpedIdent(n);
    const schema = dumpedIdent(s);
    if (name && schema && names.has(name) && !out.some((e) => e.name === name)) out.push({ name, schema });
  }
  return out;
}

/** The TOC without the entries prepareIncoming takes care of or leaves out (pure); `restore`: the replication entries
 *  restored after all (restore-production's publications a plain role may make). */
export function restorableToc(toc: string, restore: Set<string> = new Set()): { list: string; schemas: string; leftOut: string[] } {
  const lines = toc.split('\n');
  const outLines = new Set(lines.filter((l) => LEFT_OUT.test(l) && !restore.has(l)));
  // a comment on a left-out object would fail the restore (the object does not exist): it goes with its object
  const objects = new Set([...outLines].flatMap((l) => LEFT_OUT_OBJECT.exec(l)?.slice(1, 3).join(' ') ?? []));
  const noteOnLeftOut = (l: string) => objects.has(NOTE_ON.exec(l)?.slice(1, 3).join(' ') ?? '\0');
  return {
    list: lines.filter((l) => !outLines.has(l) && !noteOnLeftOut(l) && !SCHEMA.test(l) && !EXTENSION.test(l) && !EXTENSION_COMMENT.test(l)).join('\n'),
    schemas: lines.filter((l) => SCHEMA.test(l)).join('\n'),
    leftOut: [...outLines].map((l) => l.replace(/^\d+; \d+ \d+ /, '')),
  };
}

/** What prepareIncoming hands on: the TOC left to restore, and the replication entries restored and left out. */
export interface Prepared {
  list: string;
  restored: string[];
  leftOut: LeftOut[];
}

/** Where restore-production keeps the SQL of what it left out, and the names its report gives (the database after the swap). */
export interface KeepReplication {
  dir: string;
  host: string;
  database: string;
}

/** The SQL of some entries of the dump, by dump id (`pg_restore -v -f -`: no database, nothing run). */
async function readEntries(r: Restore, lines: string[], dir: string): Promise<Map<number, string>> {
  if (!lines.length) return new Map();
  await saveFile(r, `${dir}/replication.list`, lines.join('\n'));
  const res = await r.conn.run(`pg_restore -v --no-owner -f - -L ${shq(`${dir}/replication.list`)} ${shq(r.dump)}`);
  if (res.code !== 0) throw new OperationError(`pg_restore -f - (the publications) of ${r.dump} on ${r.host.name} failed (exit ${res.code})\n${tail(res.stderr)}`);
  return entrySql(res.stdout);
}

/** Keep the SQL of each left-out entry in a file of its own (root's, 0600 in a 0700 folder), written by pg_restore -f
 *  from the dump, for the operator to read and run after the swap: it survives the copied dump's removal. */
async function keepLeftOut(r: Restore, dir: string, leftOut: { entry: ReplicationEntry; file?: string }[]): Promise<void> {
  const script = [`umask 077 && mkdir -p ${shq(dir)} && chmod 700 ${shq(dir)}`];
  for (const l of leftOut) {
    const list = `${l.file!}.list`;
    script.push(`printf '%s\\n' ${shq(l.entry.line)} > ${shq(list)} && pg_restore --no-owner -f ${shq(l.file!)} -L ${shq(list)} ${shq(r.dump)} && rm -f ${shq(list)}`);
  }
  const res = await r.conn.run(script.join(' && '));
  if (res.code !== 0) throw new OperationError(`cannot keep the SQL of the entries left out in ${dir} on ${r.host.name} (exit ${res.code})\n${tail(res.stderr)}`);
}

/** Restore the dump's schemas as the refresh role, then create its extensions as postgres; returns the TOC that is
 *  left to restore. Nothing of the dump runs as postgres: at that point the database holds only empty schemas.
 *  Replication entries are left out (a copy never replicates) unless `keep` (restore-production): then the publications
 *  and memberships a plain role may make stay in the list, and the SQL of every other one is kept under `keep.dir`. */
export async function prepareIncoming(r: Restore, toc: string, dir: string, log: (l: string) => void, keep?: KeepReplication): Promise<Prepared> {
  const entries = replicationEntries(toc);
  const split = splitReplication({ toc, sql: keep ? await readEntries(r, entries.map((e) => e.line), dir) : new Map(), production: Boolean(keep), dir: keep?.dir ?? '', host: keep?.host ?? r.host.name, database: keep?.database ?? r.database });
  const { list, schemas, leftOut } = restorableToc(toc, new Set(split.restore));
  if (keep && split.leftOut.length) await keepLeftOut(r, keep.dir, split.leftOut);
  if (!keep && leftOut.length) log(`not restored (a copy never replicates, and event triggers are for superusers): ${leftOut.join('; ')}`);
  if (keep && entries.length) log(`publications: ${split.restored.length} entries restored as this plain role${split.leftOut.length ? `, ${split.leftOut.length} left out (named in the report; their SQL in ${keep.dir})` : ''}`);
  if (schemas.trim()) {
    await saveFile(r, `${dir}/schemas.list`, schemas);
    await pgRestore(r, `-L ${shq(`${dir}/schemas.list`)}`, 'schemas', 1);
  }
  if (toc.split('\n').some((l) => EXTENSION.test(l))) {
    const pre = await r.conn.run(`pg_restore --section=pre-data -f - ${shq(r.dump)}`);
    if (pre.code !== 0) throw new OperationError(`pg_restore --section=pre-data ${r.dump} on ${r.host.name} failed (exit ${pre.code})\n${tail(pre.stderr)}`);
    const extensions = dumpExtensions(toc, pre.stdout);
    if (extensions.length) {
      const available = new Set((await sqlRows(r.conn, sqlOn(r.host, 'postgres'), `SELECT name FROM pg_available_extensions WHERE name IN (${extensions.map((e) => sqlLiteral(e.name)).join(', ')});`)).map(([n]) => n));
      const missing = extensions.filter((e) => !available.has(e.name));
      if (missing.length) throw new OperationError(`${r.host.name} lacks the extensions the dump uses: ${missing.map((e) => e.name).join(', ')} (install their packages there)`);
      await sqlRows(r.conn, sqlOn(r.host, r.database), extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS ${sqlIdent(e.name)} WITH SCHEMA ${sqlIdent(e.schema)};`).join('\n'));
      log(`extensions created by postgres: ${extensions.map((e) => `${e.name} (in ${e.schema})`).join(', ')}`);
    }
  }
  return { list, restored: split.restored, leftOut: split.leftOut.map(({ entry: _, ...l }) => l) };
}
