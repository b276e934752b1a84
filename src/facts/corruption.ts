// The `corruption` fact: what each cluster itself says about damaged pages. The checksum failures PostgreSQL counts per
// database (pg_stat_database), the server log's page errors (`page verification failed`, `invalid page in block`,
// `could not read block`), and each damaged file mapped back to its relation with pg_filenode_relation, in the
// database it belongs to. Read-only; names come back as JSON (data, never parsed as anything but strings).
import { psqlPiped, type Psql } from '../core/psql.js';
import type { FactDef, Section } from './types.js';

/** One database's counters (null database: the shared catalogs' row). `failures` is null where checksums are off. */
export interface ChecksumCounter {
  database: string | null;
  failures: number | null;
  last: string | null;
}

/** One page error in the server log. */
export interface LogHit {
  /** The log line's time as UTC ISO 8601, null when the prefix is not one we read. */
  time: string | null;
  kind: 'checksum' | 'invalid_page' | 'read_failed';
  block: number | null;
  /** The file relative to the data directory (base/DBOID/FILENODE), when the line names it. */
  path: string | null;
}

/** A damaged file's relation as its database names it now. */
export interface DamagedRelation {
  dboid: number;
  filenode: number;
  database: string;
  schema: string;
  relation: string;
  /** pg_class.relkind: r table, i index, t toast, m materialized view, ... */
  kind: string;
}

export interface ClusterCorruption {
  version: number;
  cluster: string;
  /** null when the server is down or the query failed. */
  counters: ChecksumCounter[] | null;
  log: LogHit[];
  relations: DamagedRelation[];
}

const TIME = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? (UTC|GMT|[+-]\d\d(?::?\d\d)?)\b/;

/** Pure: the UTC time at the start of a log line written with Debian's prefix (`%m ...`); null otherwise. */
export function logTime(line: string): string | null {
  const m = TIME.exec(line);
  if (!m) return null;
  const zone = m[4] === 'UTC' || m[4] === 'GMT' ? 'Z' : m[4].length === 3 ? `${m[4]}:00` : m[4].replace(/^([+-]\d\d)(\d\d)$/, '$1:$2');
  const t = Date.parse(`${m[1]}T${m[2]}${m[3] ?? ''}${zone}`);
  return Number.isFinite(t) ? new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

/** Pure: one log line to a page error, null when it is none. */
export function parseLogLine(line: string): LogHit | null {
  const time = logTime(line);
  const clean = (p: string) => p.replace(/^\.\//, '');
  let m = /invalid page in block (\d+) of relation ([\w./-]+)/.exec(line);
  if (m) return { time, kind: 'invalid_page', block: Number(m[1]), path: clean(m[2]) };
  m = /could not read block (\d+) in file "([^"\n]+)"/.exec(line);
  if (m) return { time, kind: 'read_failed', block: Number(m[1]), path: clean(m[2]) };
  m = /checksum verification failed in file "([^"\n]+)", block (\d+)/.exec(line);
  if (m) return { time, kind: 'checksum', block: Number(m[2]), path: clean(m[1]) };
  if (/page verification failed, calculated checksum \d+ but expected \d+/.test(line)) return { time, kind: 'checksum', block: null, path: null };
  return null;
}

/** Pure: the database oid and file node of a path under base/ (a segment suffix .N dropped). */
export function fileNode(path: string | null): { dboid: number; filenode: number } | null {
  const m = /^base\/(\d+)\/(\d+)(?:\.\d+)?$/.exec(path ?? '');
  return m ? { dboid: Number(m[1]), filenode: Number(m[2]) } : null;
}

function jsonLines<T>(text: string | undefined, shape: (v: any) => T | null): T[] {
  return (text ?? '').split('\n').flatMap((l) => {
    if (!l.startsWith('{')) return [];
    try {
      const v = shape(JSON.parse(l));
      return v ? [v] : [];
    } catch {
      return [];
    }
  });
}

const str = (v: unknown) => (typeof v === 'string' ? v : null);
const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

/** Pure: the fact from its parts: `stats V C`, `log V C`, `rel V C` for each cluster. */
export function parseCorruption(section: Pick<Section, 'parts'>): ClusterCorruption[] {
  const out = new Map<string, ClusterCorruption>();
  for (const p of section.parts) {
    const m = /^(stats|log|rel) (\d+(?:\.\d+)?) (\S+)$/.exec(p.name);
    if (!m) continue;
    const key = `${m[2]}/${m[3]}`;
    const c = out.get(key) ?? { version: Number(m[2]), cluster: m[3], counters: null, log: [], relations: [] };
    out.set(key, c);
    if (m[1] === 'stats')
      c.counters = jsonLines(p.text, (v) => ({ database: str(v.database), failures: int(v.failures), last: str(v.last) }));
    else if (m[1] === 'log') c.log = p.text.split('\n').flatMap((l) => parseLogLine(l) ?? []);
    else
      c.relations = jsonLines(p.text, (v) => {
        const dboid = int(v.dboid), filenode = int(v.filenode), database = str(v.database), schema = str(v.schema), relation = str(v.relation);
        return dboid !== null && filenode !== null && database !== null && schema !== null && relation !== null ? { dboid, filenode, database, schema, relation, kind: str(v.kind) ?? '?' } : null;
      });
  }
  return [...out.values()];
}

const STATS_SQL = "SET search_path = pg_catalog; SELECT json_build_object('database', datname, 'failures', checksum_failures, 'last', to_char(checksum_last_failure AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) FROM pg_stat_database;";
const DB_SQL = "SET search_path = pg_catalog; SELECT datname FROM pg_database WHERE oid = :'d'::oid AND datallowconn;";
const REL_SQL = "SET search_path = pg_catalog; SELECT json_build_object('dboid', :'d'::int8, 'filenode', :'f'::int8, 'database', current_database(), 'schema', n.nspname, 'relation', c.relname, 'kind', c.relkind) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_filenode_relation(0, :'f'::oid);";
const PATTERN = 'page verification failed|invalid page in block|could not read block|checksum verification failed';

/** psql on the cluster's port (`$port`, read from pg_lsclusters, digits only) as postgres, in `database`, with psql
 *  variables read from the script's shell variables (the oids, digits only), never as the program's options. */
const onCluster = (database: Psql['database'], vars: string[], sql: string) =>
  `${psqlPiped('postgres', { database, port: { variable: 'port' }, format: 'tab', vars: Object.fromEntries(vars.map((v) => [v, { variable: v }])) }, sql)} 2>/dev/null`;

/** Per cluster from pg_lsclusters: the counters (when online), the log's last 64 MiB (and the rotated log's last 16 MiB)
 *  searched for page errors (the last 200), and each damaged file's relation. psql reads its statements on stdin, with
 *  the oids as psql variables; the database name (the host's own: any text) goes in PGDATABASE, which libpq never
 *  parses as options (core/psql.ts). */
export const corruptionFact: FactDef<ClusterCorruption[]> = {
  name: 'corruption' as string as FactDef<ClusterCorruption[]>['name'],
  tool: 'pg_lsclusters',
  command: `
command -v pg_lsclusters >/dev/null 2>&1 || exit 127
pg_lsclusters -h 2>/dev/null | while read -r v c port st owner dir log rest; do
  case "$v" in ''|*[!0-9.]*) continue;; esac
  case "$port" in ''|*[!0-9]*) continue;; esac
  case "$st" in online*) ic_part "stats $v $c"; ${onCluster('postgres', [], STATS_SQL)};; esac
  case "$log" in /*) [ -f "$log" ] || continue;; *) continue;; esac
  hits=$( { if [ -f "$log.1" ]; then runuser -u postgres -- tail -c 16777216 "$log.1"; fi; runuser -u postgres -- tail -c 67108864 "$log"; } | grep -aE '${PATTERN}' | tail -n 200 | cut -c1-400)
  ic_part "log $v $c"; printf '%s\\n' "$hits"
  case "$st" in online*) ;; *) continue;; esac
  ic_part "rel $v $c"
  printf '%s\\n' "$hits" | grep -aoE 'base/[0-9]+/[0-9]+' | sort -u | head -n 50 | while IFS=/ read -r _ d f; do
    db=$(${onCluster('postgres', ['d'], DB_SQL)})
    case "$db" in ''|*'
'*) continue;; esac
    ${onCluster({ variable: 'db' }, ['d', 'f'], REL_SQL)}
  done
done
true`,
  parse: parseCorruption,
  absent: () => [],
};

/** The fact's lines in \`ironclad facts\`. */
export function renderCorruption(cs: ClusterCorruption[]): string[] {
  return cs.map((c) => {
    const failures = (c.counters ?? []).reduce((n, x) => n + (x.failures ?? 0), 0);
    return `${c.version}/${c.cluster}: ${failures} checksum failures counted, ${c.log.length} page errors in the log${c.relations.length ? `, damaged: ${c.relations.map((r) => JSON.stringify(`${r.schema}.${r.relation}`)).join(', ')}` : ''}`;
  });
}
