// The refresh role: production's code (triggers, functions, views, index expressions of the dump) only ever runs in a
// session of a plain role that owns the incoming database and nothing else, never as the superuser. The superuser
// only creates and drops databases, the role and extensions, and hands the scrubbed database over to its owner, with
// statements ironclad writes itself; nothing from the dump reaches a superuser session.
import { randomBytes } from 'node:crypto';
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { sqlIdent, sqlLiteral } from '../core/quote.js';
import { sqlRows, type Login, type SqlTarget } from '../connectors/sql.js';
import { clusterPaths } from '../facts/cluster-state.js';
import type { Host } from '../inventory/types.js';
import { scramVerifier } from '../operations/scram.js';

const MARK = 'ironclad refresh role: owns a database only while it is restored and scrubbed';

/** The refresh role of a target database (pure): one per database, so two refreshes on one cluster never share it. */
export function refreshRole(database: string): string {
  return `ironclad_${database}`.slice(0, 63);
}

/** The address a local client reaches the cluster on over TCP (pure): loopback unless the cluster does not listen there. */
export function loginAddress(host: Host): string {
  const listen = host.postgres?.listen;
  if (!listen?.length || listen.some((a) => a === '127.0.0.1' || a === 'localhost' || a === '*')) return '127.0.0.1';
  return listen[0];
}

/** Where a refresh query runs (pure): as the refresh role when `login` is given, else as postgres on the local socket
 *  (ironclad's own statements only: never text from a dump, never where the dump's code could run). */
export function sqlOn(host: Host, database: string, login?: Login): SqlTarget {
  return { host: host.name, database, as: login ? { login } : { osUser: 'postgres', port: host.postgres!.port }, program: `${clusterPaths(host.postgres!).bin}/psql` };
}

const logins = new Map<string, Promise<Login>>();

/** The refresh role of `database` made ready to log in for this process (created once, marked as ironclad's; a fresh
 *  password; no memberships, no attributes, no settings of its own). Refused when a role of that name is not ours. */
export function openLogin(conn: Connector, host: Host, database: string): Promise<Login> {
  const key = `${host.name}/${database}`;
  let login = logins.get(key);
  if (!login) {
    login = prepareRole(conn, host, refreshRole(database));
    login.catch(() => logins.delete(key));
    logins.set(key, login);
  }
  return login;
}

async function prepareRole(conn: Connector, host: Host, role: string): Promise<Login> {
  const found = await sqlRows(conn, sqlOn(host, 'postgres'), `SELECT coalesce(shobj_description(r.oid, 'pg_authid'), ''), (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid), r.rolsuper FROM pg_roles r WHERE r.rolname = ${sqlLiteral(role)};`);
  if (!found.length) await sqlRows(conn, sqlOn(host, 'postgres'), `CREATE ROLE ${sqlIdent(role)} NOLOGIN;\nCOMMENT ON ROLE ${sqlIdent(role)} IS ${sqlLiteral(MARK)};`);
  else if (found[0][0] !== MARK || found[0][1] !== '0' || found[0][2] !== 'f')
    throw new SafetyRefusal(`${host.name}: a role ${role} exists that is not ironclad's refresh role (or has been made a member of another role, or superuser): ironclad restores only as its own plain role. Rename or drop that role`);
  const password = randomBytes(24).toString('base64url');
  await sqlRows(conn, sqlOn(host, 'postgres'), `ALTER ROLE ${sqlIdent(role)} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT LOGIN CONNECTION LIMIT -1 PASSWORD ${sqlLiteral(scramVerifier(password))};\nALTER ROLE ${sqlIdent(role)} RESET ALL;`);
  return { role, password, address: loginAddress(host), port: host.postgres!.port };
}

/** The refresh role can no longer log in (its password gone): at the end of a run, on every path. */
export async function closeLogin(conn: Connector, host: Host, database: string): Promise<void> {
  logins.delete(`${host.name}/${database}`);
  const role = refreshRole(database);
  await sqlRows(conn, sqlOn(host, 'postgres'), `DO $ironclad$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = ${sqlLiteral(role)}) THEN ALTER ROLE ${sqlIdent(role)} NOLOGIN PASSWORD NULL; END IF; END $ironclad$;`);
}

/** Check that the login reaches the database as a plain role; the hint says what to fix when pg_hba refuses it. */
export async function checkLogin(conn: Connector, host: Host, database: string, login: Login): Promise<void> {
  const rows = await sqlRows(conn, sqlOn(host, database, login), "SELECT current_user, current_setting('is_superuser');").catch((e: Error) => {
    throw new OperationError(`${host.name}: cannot log in as ${login.role} over TCP at ${login.address}:${login.port} (pg_hba.conf must allow 'host all all ${login.address}/32 scram-sha-256', as Debian's default does): ${e.message}`);
  });
  if (rows[0]?.[0] !== login.role || rows[0]?.[1] !== 'off') throw new SafetyRefusal(`${host.name}: the refresh session is not the plain role ${login.role} (${rows.map((r) => r.join(' ')).join(', ')}): refusing to run the dump's code`);
}

/** The database's mark: which run created it (the failure path drops only what its own run created). */
export function incomingMark(runId: string): string {
  return `ironclad incoming, created by run ${runId}`;
}

/** The comment of a database ('' for none), undefined when there is no such database. */
export async function databaseMark(conn: Connector, host: Host, database: string): Promise<string | undefined> {
  const rows = await sqlRows(conn, sqlOn(host, 'postgres'), `SELECT 'mark:' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${sqlLiteral(database)};`);
  return rows.length ? rows[0][0].slice('mark:'.length) : undefined;
}

/** SQL (as postgres, on the `postgres` database) that creates the incoming database owned by the refresh role, closed
 *  to everyone else (no CONNECT for PUBLIC) and marked with its run (pure). */
export function createIncomingSql(database: string, role: string, runId: string): string {
  return [`CREATE DATABASE ${sqlIdent(database)} OWNER ${sqlIdent(role)};`, `REVOKE ALL ON DATABASE ${sqlIdent(database)} FROM PUBLIC;`, `COMMENT ON DATABASE ${sqlIdent(database)} IS ${sqlLiteral(incomingMark(runId))};`].join('\n');
}

/** Give a scrubbed (or, for restore-production, checked) database to its owner role: everything the refresh role owns
 *  in it, the database itself, and CONNECT for PUBLIC again. Settings the dump's code may have put on it are reset. */
export async function handOver(conn: Connector, host: Host, o: { database: string; owner: string; role: string }): Promise<void> {
  const { database, owner, role } = o;
  await sqlRows(conn, sqlOn(host, 'postgres'), `ALTER DATABASE ${sqlIdent(database)} RESET ALL;`);
  await sqlRows(conn, sqlOn(host, database), `REASSIGN OWNED BY ${sqlIdent(role)} TO ${sqlIdent(owner)};`);
  await sqlRows(conn, sqlOn(host, 'postgres'), `ALTER DATABASE ${sqlIdent(database)} OWNER TO ${sqlIdent(owner)};\nGRANT CONNECT, TEMPORARY ON DATABASE ${sqlIdent(database)} TO PUBLIC;\nCOMMENT ON DATABASE ${sqlIdent(database)} IS NULL;`);
}
