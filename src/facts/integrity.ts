// The `integrity` fact: whether each cluster has data checksums (pg_controldata's "Data page checksum version"), the
// size of its data directory when they are off (what enabling them offline must read and rewrite), and the scheduled amcheck job ironclad
// installs: its files as they are on the host, its last result and pg_amcheck's report of it.
import { INTEGRITY_PATHS as P } from '../core/host-paths.js';
import { lsclustersShell } from './lsclusters.js';
import { parseAssignments, partText } from './text.js';
import type { FactDef } from './types.js';

/** One cluster's checksum state as its control file says. */
export interface ClusterChecksums {
  version: number;
  cluster: string;
  online: boolean;
  /** on: every page carries a checksum; off: none; null: pg_controldata could not read the control file. */
  checksums: 'on' | 'off' | null;
  /** Bytes under the data directory (du): measured only when checksums are off (what enabling them must read and
   *  rewrite; du walks every file, too slow for every plan of a big cluster), null otherwise or when unreadable. */
  data_bytes: number | null;
}

/** A relation pg_amcheck reported as corrupt, as it named it (`db.schema.relation`, data: never parsed further). */
export interface AmcheckFinding {
  kind: 'heap' | 'index';
  relation: string;
  block: number | null;
  message: string;
}

/** The last run of the amcheck job, from its status file. */
export interface AmcheckStatus {
  started: string;
  finished: string | null;
  exit: number | null;
  /** ok: nothing found; corrupt: pg_amcheck found corruption; failed: it could not check (connection, missing tool). */
  state: 'ok' | 'corrupt' | 'failed' | 'running';
  seconds: number | null;
}

export interface IntegrityFact {
  clusters: ClusterChecksums[];
  /** The job's files as they are on the host (null: absent), for apply to compare. */
  files: { job: string | null; cron: string | null; service: string | null; timer: string | null };
  last: AmcheckStatus | null;
  findings: AmcheckFinding[];
  /** When the corruption runbook last recorded a repair (ISO time), null when never. */
  cleared: string | null;
}

const STATES = ['ok', 'corrupt', 'failed', 'running'] as const;
const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null);
const iso = (v: string | undefined) => (v && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(v.trim()) ? v.trim() : null);

/** Pure: `VERSION<TAB>CLUSTER<TAB>STATUS<TAB>CHECKSUM_VERSION<TAB>KIB` lines. */
export function parseChecksumLines(text: string): ClusterChecksums[] {
  return text.split('\n').flatMap((line) => {
    const [v, cluster, status, sum, kib] = line.split('\t');
    if (!cluster || !/^\d+(\.\d+)?$/.test(v ?? '')) return [];
    const checksums = /^[1-9]\d*$/.test(sum ?? '') ? 'on' : sum === '0' ? 'off' : null;
    const k = num(kib);
    return [{ version: Number(v), cluster, online: (status ?? '').startsWith('online'), checksums, data_bytes: k === null ? null : k * 1024 }];
  });
}

/** Pure: the job's status file; null when absent or not one it wrote. */
export function parseAmcheckStatus(text: string | undefined): AmcheckStatus | null {
  if (text === undefined) return null;
  const v = parseAssignments(text);
  const started = iso(v.started);
  const state = STATES.find((s) => s === v.state);
  if (!started || !state) return null;
  return { started, finished: iso(v.finished), exit: num(v.exit), state, seconds: num(v.seconds) };
}

/** Pure: the relations pg_amcheck names in its report (`heap table "db.s.t", block 3, offset 1:` / `btree index "db.s.i":`),
 *  each with the first message line under it; a relation reported many times is listed once per block. */
export function parseAmcheckReport(text: string | undefined): AmcheckFinding[] {
  const out: AmcheckFinding[] = [];
  const lines = (text ?? '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(heap table|btree index) "(.*)"(?:, block (\d+))?(?:, offset \d+)?(?:, attribute \d+)?:$/.exec(lines[i]);
    if (!m) continue;
    const kind = m[1] === 'heap table' ? 'heap' : 'index';
    const message = (lines[i + 1] ?? '').trim().slice(0, 300);
    const inMessage = /\bblock (\d+)\b/.exec(message);
    const block = m[3] !== undefined ? Number(m[3]) : inMessage ? Number(inMessage[1]) : null;
    if (!out.some((f) => f.kind === kind && f.relation === m[2] && f.block === block)) out.push({ kind, relation: m[2], block, message });
    if (out.length >= 200) break;
  }
  return out;
}

const cat = (part: string, path: string) => `if [ -f ${path} ]; then ic_part ${part}; cat ${path}; fi`;

/** Reads control files (as root), du of each data directory, and ironclad's own amcheck files; writes nothing. */
export const integrityFact: FactDef<IntegrityFact> = {
  name: 'integrity' as FactDef<IntegrityFact>['name'],
  tool: 'pg_lsclusters',
  command: `
command -v pg_lsclusters >/dev/null 2>&1 || exit 127
${lsclustersShell().trim()}
ic_part clusters
ic_t='\t'
ic_lsclusters "" "" "" 0 | while IFS=$ic_t read -r v c port st flags owner dir rest; do
  sum=
  case $dir in /*) ;; *) dir=/nonexistent ;; esac # a data directory from the configuration is data, never an option
  LC_ALL=C "/usr/lib/postgresql/$v/bin/pg_controldata" -D "$dir" 2>/dev/null | {
    while IFS=: read -r k val; do
      case $k in 'Data page checksum version') sum=\${val#"\${val%%[! ]*}"}; break ;; esac
    done
    kib=
    if [ "$sum" = 0 ]; then kib=$(du -sk -- "$dir" 2>/dev/null) && kib=\${kib%%[!0-9]*}; fi
    printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$v" "$c" "$st" "\${sum:-?}" "\${kib:-?}"
  }
done
${cat('job', P.job)}
${cat('cron', P.cron)}
${cat('service', P.service)}
${cat('timer', P.timer)}
${cat('status', P.status)}
if [ -f ${P.report} ]; then ic_part report; head -c 65536 ${P.report}; fi
${cat('cleared', P.cleared)}
true`,
  parse(section) {
    const part = (n: string) => partText(section, n) ?? null;
    return {
      clusters: parseChecksumLines(part('clusters') ?? ''),
      files: { job: part('job'), cron: part('cron'), service: part('service'), timer: part('timer') },
      last: parseAmcheckStatus(partText(section, 'status')),
      findings: parseAmcheckReport(partText(section, 'report')),
      cleared: iso(part('cleared')?.split('\n')[0]),
    };
  },
  absent: () => ({ clusters: [], files: { job: null, cron: null, service: null, timer: null }, last: null, findings: [], cleared: null }),
};

/** The fact's lines in `ironclad facts`. */
export function renderIntegrity(f: IntegrityFact): string[] {
  return [
    ...f.clusters.map((c) => `${c.version}/${c.cluster} data checksums ${c.checksums ?? 'unknown'}`),
    ...(f.last ? [`amcheck ${f.last.started}: ${f.last.state}${f.findings.length ? ` (${f.findings.length} corrupt)` : ''}`] : f.files.job ? ['amcheck installed, never ran'] : []),
  ];
}
