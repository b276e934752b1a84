// The dump's replication and superuser-only entries (pure): which a plain role restores and which it leaves out, and
// for each one left out, why and how an operator restores it after reading it. A staging refresh leaves them all out
// (a copy never replicates from or to production); restore-production restores the publications and table memberships
// the restoring role may make itself (plain CREATE PUBLICATION, ADD TABLE of the dump's own tables: PostgreSQL 15 asks
// for CREATE on the database and ownership of each table), names the others, and never runs any of them as superuser.
import { HOST_PATHS } from '../core/host-paths.js';
import { UserError } from '../core/errors.js';
import { shq, sqlIdent } from '../core/quote.js';

/** The kinds of entry the restore leaves out or treats apart, as pg_restore -l spells them. */
export const REPLICATION_KINDS = ['EVENT TRIGGER', 'SUBSCRIPTION TABLE', 'SUBSCRIPTION', 'PUBLICATION TABLES IN SCHEMA', 'PUBLICATION TABLE', 'PUBLICATION'] as const;
export type ReplicationKind = (typeof REPLICATION_KINDS)[number];

/** One such entry of a table of contents. */
export interface ReplicationEntry {
  /** The dump id (the line's first number). */
  id: number;
  kind: ReplicationKind;
  /** The schema column ('-' for objects outside schemas) and the tag, as pg_restore -l prints them. */
  schema: string;
  tag: string;
  line: string;
}

/** An entry the restore did not make, named for the operator (restore-production's `left_out`). */
export interface LeftOut {
  kind: string;
  name: string;
  why: string;
  how: string;
  /** The entry's SQL, as pg_restore would run it, on the target (restore-production only). */
  file?: string;
}

const ENTRY = new RegExp(`^(\\d+); \\d+ \\d+ (${REPLICATION_KINDS.join('|')}) (\\S+) (.*) (\\S*)$`);

/** The entries of a table of contents that a plain role's restore treats apart (pure). */
export function replicationEntries(toc: string): ReplicationEntry[] {
  return toc.split('\n').flatMap((line) => {
    const m = ENTRY.exec(line);
    return m ? [{ id: Number(m[1]), kind: m[2] as ReplicationKind, schema: m[3], tag: m[4], line }] : [];
  });
}

/** The SQL of each entry of `pg_restore -v -f - -L LIST` output, by dump id, without its comment header (pure). */
export function entrySql(verbose: string): Map<number, string> {
  const out = new Map<number, string>();
  const parts = verbose.split(/^-- TOC entry (\d+) \(class \d+ OID \d+\)$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const body = parts[i + 1].split('\n').filter((l) => !l.startsWith('--') && l.trim() !== '');
    out.set(Number(parts[i]), body.join('\n'));
  }
  return out;
}

const IDENT = '(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")';
/** The statement pg_dump writes for a publication a plain role may create: no FOR ALL TABLES, nothing else. */
const PLAIN_PUBLICATION = new RegExp(`^CREATE PUBLICATION (${IDENT}) WITH \\(publish = '[a-z, ]*'(?:, publish_via_partition_root = true)?\\);$`);
const ALL_TABLES = new RegExp(`^CREATE PUBLICATION ${IDENT} FOR ALL TABLES `);
/** One table added to a publication (ONLY, an optional column list and row filter), on one line. */
const ADD_TABLE = new RegExp(`^ALTER PUBLICATION (${IDENT}) ADD TABLE ONLY ${IDENT}\\.${IDENT}(?: \\([^)\\n]*\\))?(?: WHERE .*)?;$`);

/** A name as the report shows it: control characters as '?' (pure). */
const shown = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** The folder of a run's left-out SQL on the target (pure): one per run, a name of safe characters only. */
export function leftOutDir(runId: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(runId)) throw new UserError(`'${runId}' is not a run id`);
  return `${HOST_PATHS.leftOut}/${runId}`;
}

/** Where the SQL of a left-out entry is kept on the target, for the operator (pure). */
export const leftOutFile = (dir: string, e: Pick<ReplicationEntry, 'id'>) => `${dir}/${e.id}.sql`;

/** The report's name of an entry: `pub`, `pub: public.orders` for a membership (pure). */
function nameOf(e: ReplicationEntry): string {
  if (e.kind === 'PUBLICATION TABLE') {
    const [pub, ...table] = e.tag.split(' ');
    return shown(`${pub}: ${e.schema}.${table.join(' ')}`);
  }
  if (e.kind === 'PUBLICATION TABLES IN SCHEMA') {
    const [pub, ...schema] = e.tag.split(' ');
    return shown(`${pub}: TABLES IN SCHEMA ${schema.join(' ')}`);
  }
  return shown(e.schema === '-' ? e.tag : `${e.schema}.${e.tag}`);
}

/** Why a kind is left out whatever its text (pure). */
function whyKind(kind: ReplicationKind): string | undefined {
  switch (kind) {
    case 'EVENT TRIGGER':
      return 'PostgreSQL lets only a superuser create an event trigger (its function runs for every DDL statement of every role)';
    case 'SUBSCRIPTION':
    case 'SUBSCRIPTION TABLE':
      return 'PostgreSQL 15 lets only a superuser create a subscription (it connects to another server with the credentials in its CONNECTION)';
    case 'PUBLICATION TABLES IN SCHEMA':
      return 'PostgreSQL 15 lets only a superuser add TABLES IN SCHEMA to a publication';
    case 'PUBLICATION':
    case 'PUBLICATION TABLE':
      return undefined;
  }
}

/** What an operator does with a left-out entry after reading its SQL (pure). */
function howOf(e: ReplicationEntry, file: string, host: string, database: string): string {
  const run = `read ${file} (the entry's SQL, as pg_restore -f writes it from the copied dump), then after the swap, as root on ${host}: su postgres -c ${shq(`psql -X -v ON_ERROR_STOP=1 -d ${shq(database)}`)} < ${shq(file)}`;
  switch (e.kind) {
    case 'SUBSCRIPTION':
    {
      const name = shown(sqlIdent(e.tag));
      return `${run}. It comes back disabled and without connecting (pg_dump's connect = false): check its CONNECTION and slot, disable the same subscription in the kept damaged database (ALTER SUBSCRIPTION ${name} DISABLE there: one subscriber per slot), then ALTER SUBSCRIPTION ${name} ENABLE; ALTER SUBSCRIPTION ${name} REFRESH PUBLICATION WITH (copy_data = false) (or empty its tables and let it copy them)`;
    }
    case 'PUBLICATION TABLE':
    case 'PUBLICATION TABLES IN SCHEMA':
      return `${run} (after its publication's, when that is left out too)`;
    case 'SUBSCRIPTION TABLE':
    case 'EVENT TRIGGER':
    case 'PUBLICATION':
      return run;
  }
}

/** Split the replication entries of a dump (pure). A refresh (`production` false) leaves every one out; restore-production
 *  restores the plain publications (their SQL, from `sql`, exactly as pg_dump writes one a plain role may create) and
 *  their ADD TABLE memberships, and leaves out the rest with why and how. `restore`: the lines to keep in the list. */
export function splitReplication(o: { toc: string; sql: Map<number, string>; production: boolean; dir: string; host: string; database: string }): { restore: string[]; restored: string[]; leftOut: (LeftOut & { entry: ReplicationEntry })[] } {
  const entries = replicationEntries(o.toc);
  const restore: string[] = [];
  const restored: string[] = [];
  const leftOut: (LeftOut & { entry: ReplicationEntry })[] = [];
  const publications = new Set<string>(); // the publications restored, as their statements spell them
  const out = (e: ReplicationEntry, why: string) => {
    const file = o.production ? leftOutFile(o.dir, e) : undefined;
    leftOut.push({ kind: e.kind.toLowerCase(), name: nameOf(e), why, how: file ? howOf(e, file, o.host, o.database) : 'never restored into a copy', ...(file ? { file } : {}), entry: e });
  };
  const refused = (e: ReplicationEntry): string | undefined => {
    if (!o.production) return e.kind === 'EVENT TRIGGER' ? 'event triggers are for superusers' : 'a copy never replicates from or to production';
    const kind = whyKind(e.kind);
    if (kind) return kind;
    const text = o.sql.get(e.id) ?? '';
    if (e.kind === 'PUBLICATION') {
      const m = PLAIN_PUBLICATION.exec(text);
      if (m) return void publications.add(m[1]);
      return ALL_TABLES.test(text) ? 'FOR ALL TABLES: PostgreSQL 15 lets only a superuser create such a publication' : 'its SQL is not the plain CREATE PUBLICATION ... WITH (...) that pg_dump writes for a publication a plain role may create';
    }
    const m = ADD_TABLE.exec(text);
    if (!m) return 'its SQL is not the ALTER PUBLICATION ... ADD TABLE ONLY that pg_dump writes for one table of a publication';
    if (!publications.has(m[1])) return 'its publication is left out';
    return undefined;
  };
  // publications before their memberships, whatever the order of the list
  const order = (e: ReplicationEntry) => (e.kind === 'PUBLICATION' ? 0 : 1);
  for (const e of [...entries].sort((a, b) => order(a) - order(b))) {
    const why = refused(e);
    if (why !== undefined) {
      out(e, why);
      continue;
    }
    restore.push(e.line);
    restored.push(`${e.kind.toLowerCase()} ${nameOf(e)}`);
  }
  leftOut.sort((a, b) => a.entry.id - b.entry.id);
  return { restore, restored, leftOut };
}

/** The report's lines about what the restore left out (pure): each by kind and name, why, and how to restore it. */
export function leftOutLines(leftOut: LeftOut[], restored: string[]): string[] {
  const lines = restored.length ? [`restored as a plain role, owned by the database's owner after the swap: ${restored.map(shown).join(', ')}`] : [];
  if (!leftOut.length) return lines;
  lines.push(`LEFT OUT of the restored database (${leftOut.length}; nothing of the dump is ever run as superuser): read each before you run it`);
  for (const l of leftOut) lines.push(`  - ${l.kind} ${l.name}: ${l.why}`, `    how: ${l.how}`);
  return lines;
}

/** The left-out entries a step's parameter carries (an earlier step's output), only well-formed ones (pure). */
export function leftOutOf(value: unknown): LeftOut[] {
  if (!Array.isArray(value)) return [];
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return value.flatMap((v: Record<string, unknown>) => {
    const [kind, name, why, how, file] = [v?.kind, v?.name, v?.why, v?.how, v?.file].map(text);
    return kind && name && why && how ? [{ kind, name, why, how, ...(file ? { file } : {}) }] : [];
  });
}

/** One line for the swap's confirmation (pure): what is left out, or nothing. */
export function leftOutSummary(leftOut: LeftOut[]): string | undefined {
  if (!leftOut.length) return undefined;
  const names = leftOut.slice(0, 8).map((l) => `${l.kind} ${l.name}`);
  return `Left out of the restored data (${leftOut.length}, see the report's how): ${names.join(', ')}${leftOut.length > 8 ? `, and ${leftOut.length - 8} more` : ''}`;
}
