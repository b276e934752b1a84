// The `clusters` fact: what pg_lsclusters would list, read by lsclusters.sh (sh and one awk run instead of Perl's ~50 ms
// of CPU). Output recorded from pg_lsclusters itself (--json, the table) still parses: the recorded fixtures.
import { lsclustersShell, parseLsclusters } from './lsclusters.js';
import { lines, partText, toInt } from './text.js';
import type { ClusterFact, FactDef } from './types.js';

/**
 * Data directory and log destination share the rest of a row. The data directory is absolute; an absolute log file
 * starts at the last " /", anything else (syslog, log/...) is the last word. Ambiguous only with spaces in both.
 */
export function splitPaths(rest: string): [string | null, string | null] {
  const cut = rest.lastIndexOf(' /') > 0 ? rest.lastIndexOf(' /') : rest.search(/\s+\S+$/);
  const dataDir = (cut > 0 ? rest.slice(0, cut) : rest).trim();
  const logFile = cut > 0 ? rest.slice(cut).trim() : null;
  return [dataDir === '' || dataDir === '<unknown>' ? null : dataDir, logFile];
}

/** A row of the plain table: the owner name and the status flags only appear there. */
function parseTableRow(line: string): ClusterFact | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*?)\s*$/.exec(line);
  if (!m) return null;
  const [, version, cluster, port, status, owner, paths] = m;
  const [word, ...flags] = status.split(',');
  if (word !== 'online' && word !== 'down') return null;
  const [dataDir, logFile] = splitPaths(paths);
  return {
    version: Number(version),
    cluster,
    port: toInt(port),
    status: word,
    flags,
    owner: owner === '<unknown>' ? null : owner,
    data_directory: dataDir,
    log_file: logFile,
    config_directory: null,
    start: null,
  };
}

/** Parse `pg_lsclusters -h` (also accepts the header line, which it skips). */
export function parseClusterTable(text: string): ClusterFact[] {
  return lines(text).flatMap((l) => parseTableRow(l) ?? []);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

/** uid -> user name from `getent passwd` lines (name:password:uid:...). */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of lines(text)) {
    const [name, , uid] = line.split(':');
    if (name && uid !== undefined && /^\d+$/.test(uid)) out.set(Number(uid), name);
  }
  return out;
}

/** The status flags pg_lsclusters' table shows, from a JSON entry (in the table's order). */
function jsonFlags(e: Record<string, unknown>): string[] {
  const flags: string[] = [];
  if (e.recovery) flags.push('recovery');
  if (typeof e.supervisor === 'string' && e.supervisor) flags.push(e.supervisor);
  if (e.binaries_missing) flags.push('binaries_missing');
  return flags;
}

/** Parse `pg_lsclusters --json`; null when the text is not its JSON (old postgresql-common, no JSON.pm). `owners`
 *  names the owneruids (from getent); an owner it does not name is null. */
export function parseClusterJson(text: string, owners: ReadonlyMap<number, string> = new Map()): ClusterFact[] | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(data)) return null;
  return data.flatMap((raw): ClusterFact[] => {
    if (typeof raw !== 'object' || raw === null) return [];
    const e = raw as Record<string, unknown>;
    const version = Number(e.version);
    const cluster = str(e.cluster);
    if (!cluster || !Number.isFinite(version)) return [];
    return [
      {
        version,
        cluster,
        port: toInt(str(e.port)),
        status: e.running ? 'online' : 'down',
        flags: jsonFlags(e),
        owner: typeof e.owneruid === 'number' ? owners.get(e.owneruid) ?? null : null,
        data_directory: str(e.pgdata),
        log_file: str(e.logfile),
        config_directory: str(e.configdir),
        start: str(e.start),
      },
    ];
  });
}

/** JSON entries (exact paths) with owner and status flags from the matching table row; the table alone when no JSON. */
export function mergeClusters(table: ClusterFact[], json: ClusterFact[] | null): ClusterFact[] {
  if (!json) return table;
  return json.map((j) => {
    const row = table.find((t) => t.version === j.version && t.cluster === j.cluster);
    return row ? { ...j, owner: row.owner, status: row.status, flags: row.flags } : j;
  });
}

/** Lists the clusters with lsclusters.sh when postgresql-common is installed (its pg_lsclusters is the sign). Parses its
 *  `clusters` part; the `json`/`table` parts of recordings made with pg_lsclusters are merged as before. */
export const clustersFact: FactDef<ClusterFact[]> = {
  name: 'clusters',
  tool: 'pg_lsclusters',
  command: `
command -v pg_lsclusters >/dev/null 2>&1 || exit 127
${lsclustersShell().trim()}
ic_part clusters
ic_lsclusters`,
  parse(section) {
    const listed = partText(section, 'clusters');
    if (listed !== undefined) return parseLsclusters(listed);
    const json = parseClusterJson(partText(section, 'json') ?? '', parsePasswd(partText(section, 'owners') ?? ''));
    return mergeClusters(parseClusterTable(partText(section, 'table') ?? ''), json);
  },
  absent: () => [],
};
