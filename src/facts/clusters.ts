// The `clusters` fact: pg_lsclusters, exact from --json when postgresql-common has it, from the plain table otherwise.
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

/** Parse `pg_lsclusters --json`; null when the text is not its JSON (old postgresql-common, no JSON.pm). */
export function parseClusterJson(text: string): ClusterFact[] | null {
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
        flags: e.recovery ? ['recovery'] : [],
        owner: null,
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

/** Runs pg_lsclusters twice (table, then JSON) in two parts. */
export const clustersFact: FactDef<ClusterFact[]> = {
  name: 'clusters',
  tool: 'pg_lsclusters',
  command: `
command -v pg_lsclusters >/dev/null 2>&1 || exit 127
ic_part table; pg_lsclusters -h
ic_part json; pg_lsclusters --json 2>/dev/null || true`,
  parse(section) {
    return mergeClusters(parseClusterTable(partText(section, 'table') ?? ''), parseClusterJson(partText(section, 'json') ?? ''));
  },
  absent: () => [],
};
