// The host scripts of a point-in-time restore (fetch.sh, restore.sh) rendered with their values, and pure parsers of
// what they print. Every value rendered is checked here first and quoted by the one quoting function.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { HOST_PATHS, STATE_DIR } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shqAlways } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { SSH_CIPHERS } from '../backup/render.js';
import { BASE_ID, isoMs, POINT_NAME, SEGMENT, segmentName, segmentNumber, validSegSize } from './restore-plan.js';

const body = (name: string) => readFileSync(join(packageRoot(), 'src', 'pitr', name), 'utf8');
/** A host script: what shellcheck is told first, the values, the body. */
export const render = (vars: Record<string, string | number>, file: string) =>
  ['# shellcheck disable=SC2015,SC2016  # `A && B || fail`: fail when either fails; su -c bodies expand in their own shell', Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`).join('\n'), body(file)].join('\n');

/** A cluster name for a restore: letters, digits, `_` and `-`, as pg_createcluster takes it. */
export function clusterName(value: string): string {
  if (!/^[a-z0-9_][a-z0-9_-]{0,62}$/.test(value)) throw new UserError(`cluster name ${JSON.stringify(value)} is not a plain lower-case name`, 'e.g. --cluster pitr_incident');
  return value;
}

/** Where a restore keeps its fetched base and WAL on the restoring host until the cluster is made. */
export function restorePaths(cluster: string): { stage: string; waldir: string; progress: string; pin: string } {
  const root = `/var/lib/postgresql/ironclad-pitr`;
  return { stage: `${root}/${clusterName(cluster)}`, waldir: `${root}/${cluster}.wal`, progress: `${STATE_DIR}/pitr-${cluster}.progress`, pin: `${HOST_PATHS.restored}/${cluster}.json` };
}

export type FetchMode =
  | { mode: 'list' }
  | { mode: 'base'; id: string }
  | { mode: 'wal'; segments: string[]; segSize: number }
  | { mode: 'partial'; segment: string; segSize: number }
  | { mode: 'commits'; segment: string };

/** fetch.sh for `source`'s archive on `store`, one mode, for a restore into `cluster`. */
export function fetchScript(args: { store: Host; source: string; cluster: string; what: FetchMode }): string {
  const { store, what } = args;
  const p = restorePaths(args.cluster);
  const vars: Record<string, string | number> = { STORE: `${store.backup_store!.user}@${store.address}`, PORT: store.ssh.port, CIPHERS: SSH_CIPHERS, SRC: hostName(args.source), MODE: what.mode, STAGE: p.stage, WALDIR: p.waldir, PROGRESS: p.progress, ID: '', SEGMENTS: '', SEGSIZE: 0 };
  if (what.mode === 'base') vars.ID = check(BASE_ID, 'base backup id', what.id);
  if (what.mode === 'wal') Object.assign(vars, { SEGMENTS: consecutive(what.segments, what.segSize).join(' '), SEGSIZE: what.segSize });
  if (what.mode === 'partial') Object.assign(vars, { ID: check(SEGMENT, 'segment', what.segment), SEGSIZE: what.segSize });
  if (what.mode === 'commits') vars.ID = check(SEGMENT, 'segment', what.segment);
  return render(vars, 'fetch.sh');
}

/** restore.sh, one mode, for a cluster made from `source`'s base `base` recovered to `target` (null: the end). The base
 *  is not known yet (null) to reclaim, create, drop and uncreate: the empty cluster is made while the store's list is read. */
export function restoreScript(args: { mode: 'reclaim' | 'create' | 'make' | 'status' | 'finish' | 'drop' | 'uncreate'; version: number; cluster: string; port: number; source: string; base: string | null; target: string | null; point?: string }): string {
  if (args.base === null && !['reclaim', 'create', 'drop', 'uncreate'].includes(args.mode)) throw new Error(`restore.sh ${args.mode} needs the base backup's id`);
  const p = restorePaths(args.cluster);
  if (!Number.isInteger(args.version) || args.version < 9 || args.version > 99) throw new Error(`not a PostgreSQL version: ${args.version}`);
  if (!Number.isInteger(args.port) || args.port < 1024 || args.port > 65535) throw new UserError(`port ${args.port} is not one a cluster can take (1024-65535)`);
  if (args.target !== null && isoMs(args.target) === null) throw new Error(`not a time: ${args.target}`);
  const vars = { MODE: args.mode, VERSION: args.version, CLUSTER: args.cluster, PGPORT: args.port, STAGE: p.stage, WALDIR: p.waldir, TARGET: args.target === null ? '' : pgTargetTime(args.target), POINT: args.point === undefined ? '' : check(POINT_NAME, 'restore point', args.point), SOURCE: hostName(args.source), BASE: args.base === null ? '' : check(BASE_ID, 'base backup id', args.base), PIN: p.pin };
  return render(vars, 'restore.sh');
}

/** Pure: a time as recovery_target_time takes it: PostgreSQL refuses zone abbreviations there, `Z` included. */
export function pgTargetTime(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$/, '+00:00');
}

/** Segment names checked, one timeline, each the next of the one before (the store's range FIRST..LAST gives exactly these). */
function consecutive(segments: string[], segSize: number): string[] {
  if (!segments.length || !validSegSize(segSize)) throw new Error(`refusing a WAL fetch of ${segments.length} segments of ${segSize} bytes`);
  segments.reduce<{ tli: number; segno: bigint } | null>((prev, s) => {
    const n = segmentNumber(check(SEGMENT, 'segment', s), segSize);
    if (prev && (n.tli !== prev.tli || n.segno !== prev.segno + 1n)) throw new Error(`refusing WAL segments ${segmentName(prev.tli, prev.segno, segSize)} then ${s}: not consecutive`);
    return n;
  }, null);
  return segments;
}

function check(re: RegExp, what: string, value: string): string {
  if (!re.test(value)) throw new Error(`refusing ${what} ${JSON.stringify(value).slice(0, 80)}: not of the expected form`);
  return value;
}
function hostName(name: string): string {
  return check(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'host name', name);
}

/** Pure: the `@@TAG VALUE` lines a script printed, by tag (the last of each). */
export function tags(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^@@([a-z_]+)(?: (.*))?$/.exec(line);
    if (m) out[m[1]] = (m[2] ?? '').trim();
  }
  return out;
}

/** Pure: a host script's `@@took STAGE MS STAGE MS ...` (ms since it began, at the end of each stage) as the restore's
 *  lines say it: ` (placed 0.1 s, started 0.4 s)`; nothing when it printed none or something else. */
export function stagesText(took: string | undefined): string {
  const f = (took ?? '').trim().split(/\s+/);
  if (f.length < 2 || f.length % 2) return '';
  const parts: string[] = [];
  for (let i = 0; i < f.length; i += 2) {
    if (!/^[a-z]{1,20}$/.test(f[i]) || !/^\d{1,9}$/.test(f[i + 1])) return '';
    parts.push(`${f[i]} ${(Number(f[i + 1]) / 1000).toFixed(1)} s`);
  }
  return ` (${parts.join(', ')})`;
}

/** Pure: a time as PostgreSQL logs it (`2026-12-02 21:15:00.123456 UTC`, or with an offset) as ISO 8601 UTC. */
export function pgTimeToIso(text: string | undefined): string | null {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) ?(UTC|GMT|[+-]\d{2}(?::?\d{2})?)$/.exec((text ?? '').trim());
  if (!m) return null;
  const zone = m[3] === 'UTC' || m[3] === 'GMT' ? 'Z' : m[3].length === 3 ? `${m[3]}:00` : m[3];
  const ms = isoMs(`${m[1]}T${m[2]}${zone}`);
  return ms === null ? null : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** Pure: what `fetch base` printed, checked against the base's backup.json: the version, segment size and identity of
 *  the unpacked base must be the ones the store described, or nothing of it is used. */
export function checkFetchedBase(stdout: string, base: { id: string; start_lsn: string; timeline: number; system_identifier: string }): { version: number; segSize: number } {
  const t = tags(stdout);
  const version = Number(t.version);
  const segSize = Number(t.segsize);
  const problems: string[] = [];
  if (!/^\d{1,3}$/.test(t.version ?? '')) problems.push(`its PG_VERSION is not a version (${JSON.stringify(t.version ?? '')})`);
  if (!(Number.isInteger(segSize) && segSize >= 1 << 20 && segSize <= 1 << 30 && (segSize & (segSize - 1)) === 0)) problems.push('its WAL segment size is not one PostgreSQL has');
  if (t.sysid !== base.system_identifier) problems.push(`its system identifier ${t.sysid ?? '(none)'} is not the ${base.system_identifier} the store recorded`);
  if (t.label_lsn !== base.start_lsn) problems.push(`its backup_label starts at ${t.label_lsn ?? '(none)'}, the store recorded ${base.start_lsn}`);
  if (Number(t.label_tli) !== base.timeline) problems.push(`its backup_label is on timeline ${t.label_tli ?? '(none)'}, the store recorded ${base.timeline}`);
  if (problems.length) throw new Error(`base backup ${base.id} is not what the store describes: ${problems.join('; ')}`);
  return { version, segSize };
}
