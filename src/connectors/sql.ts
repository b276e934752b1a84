// The one way the refresh and the restore run SQL on a host and read rows back: psql as core/psql.ts builds it (no
// psqlrc, stopping at the first error, the statements on stdin, the database in PGDATABASE, never parsed as connection
// options as `-d` would parse a name holding '='), as the stated account, and rows read back as CSV, so that a name or
// a value holding a tab, a comma, a quote or a newline stays in its own field. The SQL text comes with every name and
// value already quoted by sqlIdent/sqlLiteral (core/quote.ts).
import { OperationError } from '../core/errors.js';
import { psqlAs, psqlClient } from '../core/psql.js';
import { shq } from '../core/quote.js';
import { tail } from './output.js';
import type { Connector } from './types.js';

/** How to log in as a plain role over TCP (the password lives in this process only). */
export interface Login {
  role: string;
  password: string;
  address: string;
  port: number;
}

/** Who runs the SQL: an OS account over the cluster's local socket (peer authentication as the role of the same
 *  name: ironclad's own statements only, never text from a dump), or a login over TCP. */
export type SqlAs = { osUser: string; port: number } | { login: Login };

/** Where and as whom a query runs. `host` names the host in messages. */
export interface SqlTarget {
  host: string;
  database: string;
  as: SqlAs;
  /** The psql to run: a cluster's own (`/usr/lib/postgresql/15/bin/psql`), or Debian's wrapper `psql` (a Perl script:
   *  ~25 ms of CPU a start, which a refresh's dozens of statements pay beside the restore) when absent. */
  program?: string;
}

/** Shell text that runs a PostgreSQL client (`client`: the program and its options) as the login (pure). The password
 *  is the first line of stdin (never on a command line); TLS is off on this local connection. */
export function asLogin(login: Login, client: string): string {
  return `cd / && IFS= read -r PGPASSWORD && export PGPASSWORD PGSSLMODE=disable PGCONNECT_TIMEOUT=20 && exec ${client} -h ${shq(login.address)} -p ${login.port} -U ${shq(login.role)}`;
}

/** The shell text and the stdin of one psql run (pure). */
export function psqlInvocation(t: Omit<SqlTarget, 'host'>, sql: string): { script: string; stdin: string } {
  if ('login' in t.as) return { script: asLogin(t.as.login, psqlClient({ database: t.database, format: 'csv', program: t.program })), stdin: `${t.as.login.password}\n${sql}` };
  return { script: psqlAs(t.as.osUser, { database: t.database, port: t.as.port, format: 'csv', program: t.program }), stdin: sql };
}

/** Pure: psql's CSV output as rows of fields (RFC 4180: a quoted field may hold commas, quotes doubled, newlines).
 *  NULL and '' both read as ''. Rows of several statements follow each other. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new OperationError('psql printed an unterminated quoted CSV field');
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else {
      let end = i;
      while (end < text.length && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
      field = text.slice(i, end);
      i = end;
    }
    row.push(field);
    if (text[i] === ',') i++;
    else {
      if (text[i] === '\r') i++;
      if (i < text.length && text[i] !== '\n') throw new OperationError(`psql printed a CSV field with text after its closing quote (at ${i})`);
      i++;
      rows.push(row);
      row = [];
    }
  }
  return rows;
}

/** Run SQL on a host and return its rows (every statement's, in order), failing with the host, the database, the
 *  account, the exit code and psql's error lines. */
export async function sqlRows(conn: Connector, t: SqlTarget, sql: string): Promise<string[][]> {
  const { script, stdin } = psqlInvocation(t, sql);
  const r = await conn.run(script, { stdin });
  if (r.code !== 0) {
    const errors = (r.stderr || r.stdout).split('\n').filter((l) => /^(ERROR|FATAL|psql: error):?/.test(l));
    const who = 'login' in t.as ? `as ${t.as.login.role}` : `as ${t.as.osUser}`;
    throw new OperationError(`${t.host}: SQL on ${t.database} ${who} failed (exit ${r.code}): ${errors.join('; ') || 'see below'}\n${tail(r.stderr || r.stdout, 4)}`);
  }
  return parseCsv(r.stdout);
}
