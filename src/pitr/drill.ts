// The point-in-time restore drill: a count checkpoint on the database host (a named restore point and every table's
// rows, in one snapshot), the archive restored to that point on the drill host, then proven: the heartbeat row within
// 60 s of the point, every table's rows equal to the checkpoint's, amcheck on every btree index. RPO (how long the
// store took to hold the point) and RTO (how long the restore took) are recorded on the store with the verdict.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { psqlPiped } from '../core/psql.js';
import { shq, shqAlways, sqlLiteral } from '../core/quote.js';
import { countSql, compareCounts } from '../backup/drill.js';
import type { Connector } from '../connectors/types.js';
import { withPool } from '../executor/pool.js';
import { tail } from '../connectors/output.js';
import type { Host, Inventory } from '../inventory/types.js';
import { drillReadScript, lastPassedAt, parseDrillReads, parseDrillRecord } from './drill-record.js';
import { isoMs, lsnValue, POINT_NAME, type Target } from './restore-plan.js';
import { restoreScript } from './restore-scripts.js';
import { PITR_PATHS } from './render.js';
import { freePort, PORTS_SCRIPT, runRestore } from './restore.js';

/** What one drill found, as printed and as recorded on the store (`ironclad-pitr record HOST`). */
export interface DrillResult {
  passed: boolean;
  at: string;
  host: string;
  on: string;
  point: string | null;
  target_time: string | null;
  heartbeat: string | null;
  rpo_s: number | null;
  rto_s: number | null;
  tables: number;
  indexes: number;
  problems: string[];
  last_passed_at: string | null;
}

export const HEARTBEAT_WINDOW_S = 60;
const DB_NAME = /^[A-Za-z0-9_$-]{1,63}$/;
const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The checkpoint on the database host: a restore point and the first backed-up database's rows, one snapshot. */
export function checkpointScript(args: { port: number; database: string; point: string }): string {
  if (!DB_NAME.test(args.database) || !POINT_NAME.test(args.point)) throw new Error('refusing a database or restore point name that is not plain');
  const sql = [
    'BEGIN ISOLATION LEVEL REPEATABLE READ;',
    `SELECT '@@point', pg_create_restore_point(:'point'), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');`,
    countSql(),
    'COMMIT;',
    // the point's segment completed now, so the store archives it at once (not when 16 MB more are written)
    'SELECT pg_switch_wal();',
  ].join('\n');
  return `cd / && ${psqlPiped('postgres', { database: args.database, port: args.port, format: 'tab', vars: { point: args.point } }, sql)}`;
}

/** Pure: the checkpoint's output: the restore point's LSN and time, the counts. */
export function parseCheckpoint(stdout: string): { lsn: string; time: string; counts: Record<string, number> } | null {
  const lines = stdout.split('\n');
  const p = lines.find((l) => l.startsWith('@@point\t'))?.split('\t');
  const c = lines.find((l) => l.startsWith('@@counts\t'))?.split('\t');
  if (!p || !c || !/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/.test(p[1]) || isoMs(p[2]) === null) return null;
  return { lsn: p[1], time: p[2], counts: JSON.parse(c[3]) };
}

/** Pure: the proof's output (drill.sh). */
export function parseProof(stdout: string): { heartbeat: string | null; counts: Record<string, number> | null; indexes: number; amcheck: string[] } {
  const lines = stdout.split('\n');
  const hb = lines.find((l) => l.startsWith('@@heartbeat '))?.slice(12).trim();
  const c = lines.find((l) => l.startsWith('@@counts\t'))?.split('\t');
  const checks = lines.filter((l) => l.startsWith('@@amcheck ')).map((l) => l.slice(10).split(' '));
  return {
    heartbeat: hb && isoMs(hb) !== null ? hb : null,
    counts: c ? JSON.parse(c[3]) : null,
    indexes: checks.reduce((n, [, verdict, count]) => n + (verdict === 'ok' ? Number(count) : 0), 0),
    amcheck: checks.filter(([, verdict]) => verdict !== 'ok').map(([db, , ...msg]) => `amcheck found a problem in ${db}: ${msg.join(' ')}`),
  };
}

/** Pure: the heartbeat's verdict: the newest row within 60 s of the point restored to. */
export function judgeHeartbeat(heartbeat: string | null, target: string): string | null {
  if (!heartbeat) return 'no heartbeat row in ironclad.heartbeat of the restored cluster (apply installs the heartbeat with archiving)';
  const gap = (isoMs(target)! - isoMs(heartbeat)!) / 1000;
  return Math.abs(gap) <= HEARTBEAT_WINDOW_S ? null : `the newest heartbeat (${heartbeat}) is ${Math.round(gap)} s from the point restored to (${target}): more than ${HEARTBEAT_WINDOW_S} s`;
}

const body = () => readFileSync(join(packageRoot(), 'src', 'pitr', 'drill.sh'), 'utf8').replace('@@COUNT_SQL@@', countSql());

async function run(conn: Connector, script: string, what: string, stdin?: string): Promise<string> {
  const r = await conn.run(script, { stdin, timeoutMs: 3600_000 });
  if (r.code !== 0) throw new Error(`${conn.host}: ${what} failed (exit ${r.code}): ${tail(r.stderr || r.stdout, 3).trim()}`);
  return r.stdout;
}

/** How long a drill waits for the store to receive, then archive, its checkpoint (from the checkpoint on). */
const POLL_LIMIT_S = 300;

/** Ask `done` every 250 ms until it says yes; past POLL_LIMIT_S after `sinceMs`, fail with `why()`. */
export async function pollUntil(sinceMs: number, done: () => Promise<boolean>, why: () => string, everyMs = 250, limitS = POLL_LIMIT_S): Promise<void> {
  while (!(await done())) {
    if (Date.now() - sinceMs > limitS * 1000) throw new Error(why());
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One drill of `source`'s archive on `on`; never throws for what it finds (problems), only records it. */
async function drillOne(args: { inv: Inventory; source: Host; store: Host; on: Host; log: (l: string) => void; progress?: NodeJS.WritableStream }, pool: import('../executor/pool.js').ConnectionPool): Promise<DrillResult> {
  const { source, on, store, log } = args;
  const at = nowIso();
  const result: DrillResult = { passed: false, at, host: source.name, on: on.name, point: null, target_time: null, heartbeat: null, rpo_s: null, rto_s: null, tables: 0, indexes: 0, problems: [], last_passed_at: null };
  const database = source.backup!.databases[0];
  const port = source.postgres?.port ?? 5432;
  let cluster = '';
  let version = 0;
  try {
    // the count checkpoint, on the database host (a drill proves what production has now)
    const point = `ironclad-drill-${at.replace(/[-:]/g, '')}`;
    const db = await pool.get(source);
    const ck = parseCheckpoint(await run(db, checkpointScript({ port, database, point }), 'the count checkpoint'));
    if (!ck) throw new Error(`${source.name}: the count checkpoint printed no restore point`);
    Object.assign(result, { point, target_time: ck.time });
    log(`${source.name}: count checkpoint ${point} at ${ck.lsn} (${Object.keys(ck.counts).length} tables of ${database}); waiting for the store to hold it`);
    const t0 = Date.now();
    const flushed = `SELECT coalesce(bool_or(write_lsn >= ${sqlLiteral(ck.lsn)}::pg_lsn), false) FROM pg_stat_replication WHERE application_name = 'ironclad_pitr'`;
    await pollUntil(t0, async () => (await run(db, `cd / && su postgres -s /bin/sh -c ${shqAlways(`psql -X -A -t -q -p ${port} -d postgres`)}`, 'asking how far the store received', flushed + ';\n')).trim() === 't',
      () => `the store did not receive the checkpoint's WAL within ${POLL_LIMIT_S} s (archiving of ${source.name} is behind or stopped: see ironclad pitr status)`);
    result.rpo_s = Math.round((Date.now() - t0) / 100) / 10;
    // received is not yet archived (a busy store may hold completed segments in its spool): wait for the archive's index
    const st = await pool.get(store);
    const index = shq(`${store.backup_store!.path}/pitr/${source.name}/wal.index`);
    let end = '';
    await pollUntil(t0, async () => {
      end = (await st.run(`tail -n 1 ${index} 2>/dev/null`)).stdout.split(' ')[2] ?? '';
      return /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/.test(end) && lsnValue(end) > lsnValue(ck.lsn);
    }, () => `the store did not archive the checkpoint's WAL within ${POLL_LIMIT_S} s (its index ends at ${end || 'nothing'}; archiving of ${source.name} is behind: see ironclad pitr status)`);
    log(`${source.name}: the store received the checkpoint in ${result.rpo_s} s and archived it in ${Math.round((Date.now() - t0) / 100) / 10} s`);
    const conn = await pool.get(on);
    cluster = `pitr_drill`;
    await conn.run(restoreScript({ mode: 'drop', version: 15, cluster, port: 5432, source: source.name, base: '19700101T000000Z', target: null })); // a drill interrupted before
    const target: Target = { kind: 'point', name: point, lsn: ck.lsn, ms: isoMs(ck.time)! };
    const restored = await runRestore({ conn, to: on, store, source: source.name, target, cluster, port: freePort((await conn.run(PORTS_SCRIPT)).stdout), log, progress: args.progress, version: source.postgres?.version });
    version = restored.version;
    result.rto_s = restored.seconds;
    const proof = parseProof(await run(conn, [`VERSION=${restored.version}`, `PGPORT=${restored.port}`, `DBS=${shqAlways(database)}`, body()].join('\n'), 'proving the restored cluster'));
    result.heartbeat = proof.heartbeat;
    result.indexes = proof.indexes;
    const hb = judgeHeartbeat(proof.heartbeat, ck.time);
    if (hb) result.problems.push(hb);
    if (!proof.counts) result.problems.push(`the restored rows of ${database} could not be counted`);
    else {
      result.tables = Object.keys(proof.counts).length;
      result.problems.push(...compareCounts(ck.counts, proof.counts).map((p) => p.replace(/^restore drill: /, '').replace('the backup says', 'the checkpoint says').replace('the backup does not list it', 'the checkpoint does not list it')));
    }
    result.problems.push(...proof.amcheck);
  } catch (e) {
    result.problems.push((e as Error).message);
  } finally {
    if (cluster) {
      const conn = await pool.get(on).catch(() => null);
      await conn?.run(restoreScript({ mode: 'drop', version: version || 15, cluster, port: 5432, source: source.name, base: '19700101T000000Z', target: null })).catch(() => undefined);
    }
  }
  result.passed = result.problems.length === 0;
  // the verdict, kept by the store beside the archive (the audit reads it): the last pass survives a failure
  try {
    const st = await pool.get(store);
    const previous = parseDrillReads((await st.run(drillReadScript(store.backup_store!.path, [source.name]))).stdout, [source.name]).get(source.name);
    result.last_passed_at = result.passed ? result.at : lastPassedAt(parseDrillRecord(previous, source.name, new Date()));
    const rec = await st.run(`${PITR_PATHS.script} record ${shq(source.name)}`, { stdin: JSON.stringify(result) + '\n' });
    if (rec.code !== 0) result.problems.push(`${store.name}: recording the drill failed (exit ${rec.code}): ${tail(rec.stderr, 2).trim()}`);
  } catch (e) {
    result.problems.push(`${store.name}: recording the drill failed: ${(e as Error).message}`);
  }
  result.passed = result.problems.length === 0;
  return result;
}

/** Run the drills one after another (each restores onto its drill host). */
export async function runDrills(args: { inv: Inventory; sources: { source: Host; store: Host; on: Host }[]; log: (l: string) => void; progress?: NodeJS.WritableStream }): Promise<DrillResult[]> {
  return withPool(async (pool) => {
    const out: DrillResult[] = [];
    for (const s of args.sources) out.push(await drillOne({ inv: args.inv, ...s, log: args.log, progress: args.progress }, pool));
    return out;
  });
}
