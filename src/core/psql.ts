// The one builder of the shell text that runs psql on a host (pure; connectors/sql.ts, the `sql` command, facts and
// runbook steps all use it): no psqlrc (-X), quiet, stopping at the first error (ON_ERROR_STOP), the statements on stdin
// (never in argv), the database in the environment (PGDATABASE: libpq never parses it as connection options, as it
// parses a `-d` name holding '='), psql variables as values psql itself quotes (:'name'), and the rows in the format
// the caller's parser reads. A name or a value is never more than the one argument of its option.
import { OperationError } from './errors.js';
import { shq } from './quote.js';

/** The value of a shell variable of the script at run time (a port or a name read on the host), never its text. */
export interface ShellVariable {
  variable: string;
}

/** How psql prints rows: `csv` (RFC 4180, read by connectors/sql.ts parseCsv: a field may hold any character), or
 *  `tab`: unaligned, tuples only, fields split by a tab (for parsers of one field a line, or of tab-separated fields
 *  that hold no tab or newline). Both print no headers, no footers, no command tags. */
export type PsqlFormat = 'csv' | 'tab';

/** One psql run: where, how rows come back, and its variables. */
export interface Psql {
  database: string | ShellVariable;
  /** The port of the cluster's local socket; absent for a login over TCP (asLogin gives -h, -p, -U). */
  port?: number | ShellVariable;
  format: PsqlFormat;
  /** The program: `psql` (Debian's wrapper) unless a cluster's own (`/usr/lib/postgresql/15/bin/psql`). */
  program?: string;
  /** psql variables (`-v NAME=VALUE`), read in the SQL as :'NAME' (a literal) or :"NAME" (an identifier). */
  vars?: Record<string, string | number | ShellVariable>;
}

const OS_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PROGRAM = /^[A-Za-z0-9_\/.-]+$/;
const FORMAT: Record<PsqlFormat, string> = { csv: '--csv -t', tab: "-A -t -F '\t'" };

const isVariable = (v: unknown): v is ShellVariable => typeof v === 'object' && v !== null && 'variable' in v;

/** One shell word: a value quoted, or a variable's value (the name checked, the expansion double-quoted). */
function word(v: string | number | ShellVariable): string {
  if (!isVariable(v)) return shq(v);
  if (!NAME.test(v.variable)) throw new OperationError(`not a shell variable name: ${JSON.stringify(v.variable)}`);
  return `"$${v.variable}"`;
}

/** What is not a name is refused before any shell text exists. */
function check(p: Psql): void {
  if (p.program !== undefined && !PROGRAM.test(p.program)) throw new OperationError(`not a program path: ${JSON.stringify(p.program)}`);
  if (typeof p.port === 'number' && !(Number.isInteger(p.port) && p.port > 0 && p.port < 65536)) throw new OperationError(`not a port: ${p.port}`);
  for (const name of Object.keys(p.vars ?? {})) if (!NAME.test(name)) throw new OperationError(`not a psql variable name: ${JSON.stringify(name)}`);
}

/** The values that are shell variables, each with the environment variable that carries it across `su`. */
function carried(p: Psql): [string, ShellVariable][] {
  const out: [string, ShellVariable][] = isVariable(p.port) ? [['IC_PSQL_PORT', p.port]] : [];
  for (const [name, v] of Object.entries(p.vars ?? {})) if (isVariable(v)) out.push([`IC_PSQL_V_${name}`, v]);
  return out;
}

/** The environment psql starts with across `su`: `PGDATABASE=...` and the carriers of variables' values. */
function environment(p: Psql): string {
  return [`PGDATABASE=${word(p.database)}`, ...carried(p).map(([env, v]) => `${env}=${word(v)}`)].join(' ');
}

/** The program and its options: -p and -v values quoted, or (`carry`) read from their carriers by the shell that runs
 *  it. A value is always one argument of its option, never an option itself. */
function command(p: Psql, carry: boolean): string {
  const value = (v: string | number | ShellVariable, env: string) => (isVariable(v) && carry ? `"$${env}"` : word(v));
  const port = p.port === undefined ? '' : ` -p ${value(p.port, 'IC_PSQL_PORT')}`;
  const vars = Object.entries(p.vars ?? {}).map(([name, v]) => ` -v ${name}=${value(v, `IC_PSQL_V_${name}`)}`);
  return `${p.program ?? 'psql'} -X -q -v ON_ERROR_STOP=1 ${FORMAT[p.format]}${port}${vars.join('')}`;
}

/** `ENV su ACCOUNT -s /bin/sh -c 'cd / && exec COMMAND'`: the environment crosses `su` (never --login); the account's
 *  shell starts in / (postgres cannot read root's working directory). */
function asAccount(osUser: string, env: string, program: string): string {
  if (!OS_USER.test(osUser)) throw new OperationError(`not an OS account name: ${JSON.stringify(osUser)}`);
  return `${env} su ${osUser} -s /bin/sh -c ${shq(`cd / && exec ${program}`)}`;
}

/** Shell text running psql as an OS account over the cluster's local socket (peer authentication as the role of the
 *  same name), reading its statements on stdin. */
export function psqlAs(osUser: string, p: Psql): string {
  check(p);
  return asAccount(osUser, environment(p), command(p, true));
}

/** psqlAs with the statements written into the shell text (for a host script or a fact): `printf | psql`. */
export function psqlPiped(osUser: string, p: Psql, sql: string): string {
  return `printf '%s\\n' ${shq(sql)} | ${psqlAs(osUser, p)}`;
}

/** Shell text running another libpq client (pg_restore) as an OS account, connected to `database` through PGDATABASE:
 *  `program` is the program and its options, built by the caller with shq, naming no database (pg_restore's `-d ''`
 *  is empty, and libpq takes an empty parameter from the environment). */
export function clientAs(osUser: string, database: string, program: string): string {
  return asAccount(osUser, `PGDATABASE=${shq(database)}`, program);
}

/** The client part of a libpq client's run over TCP (pg_restore; psql through psqlClient), to follow `exec` (asLogin adds -h, -p, -U):
 *  `env PGDATABASE=... NAME=value... PROGRAM`, the database and the values in the environment, each one quoted word;
 *  `program` names no database (pg_restore's `-d ''`, empty: libpq takes it from PGDATABASE). */
export function clientEnv(database: string | ShellVariable, program: string, env: Record<string, string> = {}): string {
  for (const name of Object.keys(env)) if (!NAME.test(name)) throw new OperationError(`not an environment variable name: ${JSON.stringify(name)}`);
  return `env PGDATABASE=${word(database)}${Object.entries(env).map(([name, v]) => ` ${name}=${shq(v)}`).join('')} ${program}`;
}

/** The client part of a psql run over TCP, to follow `exec` (connectors/sql.ts asLogin adds -h, -p, -U): `env
 *  PGDATABASE=... psql OPTIONS`. */
export function psqlClient(p: Omit<Psql, 'port'>): string {
  check(p);
  return clientEnv(p.database, command(p, false));
}
