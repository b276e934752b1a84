// The `cluster_state` fact, which takes the cluster as argument: its ironclad.conf and pg_hba.conf, its data directory,
// and (when it runs) its settings, roles and databases. What provisioning plans from, read like every other fact.
import { psqlPiped } from '../core/psql.js';
import type { PostgresSpec } from '../inventory/types.js';
import type { ArgFact, Section } from './types.js';

export interface RoleState {
  name: string;
  login: boolean;
  superuser: boolean;
  createdb: boolean;
  /** The stored verifier; never printed. */
  password: string;
}

export interface SettingState {
  setting: string;
  unit: string;
  context: string;
  pending_restart: boolean;
}

/** What provisioning knows about the inventory's cluster on a host. `null` means unknown (server not running). */
export interface ClusterState {
  confFile: string | null;
  hbaFile: string | null;
  dataDirectory: { exists: boolean; entries: number; pgVersion: string | null; systemIdentifier: string | null };
  settings: Map<string, SettingState> | null;
  roles: RoleState[] | null;
  databases: { name: string; owner: string }[] | null;
}

/** Paths Debian's postgresql-common uses for a cluster. */
export function clusterPaths(pg: Pick<PostgresSpec, 'version' | 'cluster'>) {
  const conf = `/etc/postgresql/${pg.version}/${pg.cluster}`;
  return {
    confDir: conf,
    ironcladConf: `${conf}/conf.d/ironclad.conf`,
    hba: `${conf}/pg_hba.conf`,
    dataDirectory: `/var/lib/postgresql/${pg.version}/${pg.cluster}`,
    bin: `/usr/lib/postgresql/${pg.version}/bin`,
  };
}

const QUERIES = {
  settings: "SELECT name, setting, coalesce(unit, ''), context, pending_restart FROM pg_settings",
  roles: "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, coalesce(rolpassword, '') FROM pg_authid",
  databases: 'SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE NOT datistemplate',
} as const;
type QueryName = keyof typeof QUERIES;

/** One psql call for all queries (one su, one connection), each result in its own part, fields split by tabs. The
 *  cluster's own psql, not Debian's Perl pg_wrapper in front of it (~30 ms of CPU on every host, every plan). */
function sqlCommand(pg: PostgresSpec): string {
  const sql = Object.entries(QUERIES).map(([name, query]) => `SELECT '@@part ${name}';\n${query};`).join('\n');
  return `${psqlPiped('postgres', { database: 'postgres', port: pg.port, format: 'tab', program: `${clusterPaths(pg).bin}/psql` }, sql)} 2>/dev/null || exit 3`;
}

function sqlParts(stdout: string | null): Record<QueryName, string> | null {
  if (stdout === null) return null;
  const out: Record<string, string> = {};
  let current = '';
  for (const line of stdout.split('\n')) {
    const m = /^@@part (\w+)$/.exec(line);
    if (m) current = m[1];
    else if (current) out[current] = (out[current] ?? '') + line + '\n';
  }
  return Object.keys(QUERIES).every((k) => k in out) ? (out as Record<QueryName, string>) : null;
}

/** The fact's sections for one cluster, each a read-only command. */
export function stateCommands(pg: PostgresSpec): { name: string; command: string }[] {
  const p = clusterPaths(pg);
  return [
    // (read as postgres: the files and their folders are postgres', who could make them links to a file of root's)
    { name: 'conf', command: `[ -f ${p.ironcladConf} ] || exit 1; runuser -u postgres -- cat ${p.ironcladConf}` },
    { name: 'hba', command: `[ -f ${p.hba} ] || exit 1; runuser -u postgres -- cat ${p.hba}` },
    {
      name: 'datadir',
      command: `d=${p.dataDirectory}; [ -d "$d" ] || exit 1; ls -A "$d" | wc -l; cat "$d/PG_VERSION" 2>/dev/null || echo; ` +
        `LC_ALL=C ${p.bin}/pg_controldata "$d" 2>/dev/null | sed -n 's/^Database system identifier: *//p'`,
    },
    { name: 'sql', command: sqlCommand(pg) },
  ];
}

const rows = (text: string) => text.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
const bool = (v: string) => v === 't';

/** Pure: the cluster state from the sections' outputs (code 0 = present). */
export function parseClusterState(sections: Map<string, Pick<Section, 'code' | 'stdout'>>): ClusterState {
  const ok = (n: string) => (sections.get(n)?.code === 0 ? sections.get(n)!.stdout : null);
  const dd = ok('datadir')?.split('\n');
  const sql = sqlParts(ok('sql'));
  const settings = sql?.settings ?? null;
  const roles = sql?.roles ?? null;
  const dbs = sql?.databases ?? null;
  return {
    confFile: ok('conf'),
    hbaFile: ok('hba'),
    dataDirectory: dd
      ? { exists: true, entries: Number(dd[0]) || 0, pgVersion: dd[1]?.trim() || null, systemIdentifier: dd[2]?.trim() || null }
      : { exists: false, entries: 0, pgVersion: null, systemIdentifier: null },
    settings:
      settings === null
        ? null
        : new Map(rows(settings).map(([name, setting, unit, context, pending]) => [name, { setting, unit, context, pending_restart: bool(pending) }])),
    roles:
      roles === null
        ? null
        : rows(roles).map(([name, login, superuser, createdb, password]) => ({ name, login: bool(login), superuser: bool(superuser), createdb: bool(createdb), password: password ?? '' })),
    databases: dbs === null ? null : rows(dbs).map(([name, owner]) => ({ name, owner })),
  };
}

/** The fact: `gatherFacts(conn, names, { fact: clusterStateFact, args: pg })` reads it with the named facts. */
export const clusterStateFact: ArgFact<PostgresSpec, ClusterState> = {
  name: 'cluster_state',
  sections: stateCommands,
  parse: parseClusterState,
};
