// A point-in-time restore onto a host that restores a database host's backups: the host fetches the base and the WAL
// from the store with its own read key and identity (the database host is never contacted: it may be dead), makes a
// new cluster of them on a port no cluster of that host has, recovers it to the target, promotes it and checks it.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import type { Connector } from '../connectors/types.js';
import type { Host } from '../inventory/types.js';
import { cutFetch, fetchForRestore, secs, step, withProgress } from './restore-fetch.js';
import { chooseBase, isoMs, lsnValue, parseList, segmentNumber, type BaseBackup, type Target } from './restore-plan.js';
import { fetchScript, pgTimeToIso, restoreScript, stagesText, tags, type FetchMode } from './restore-scripts.js';

/** What a restore made and what its data represents. */
export interface RestoreResult {
  host: string;
  source: string;
  cluster: string;
  version: number;
  port: number;
  base: string;
  target: string; // the time asked for, or 'latest'
  /** Recovery stopped before the first commit after the target (`target`), or at the end of the archive (`end`). */
  stopped: 'target' | 'end';
  /** The newest commit the restored cluster holds, as the server logged it (ISO, UTC), when it said so. */
  last_commit: string | null;
  /** The first commit it does not hold (recovery stopped before it), when it stopped at the target. */
  first_excluded: string | null;
  segments: number;
  partial: boolean;
  bytes: number;
  seconds: number;
  system_identifier: string;
  /** The newest commit the store's archive knows of (its index and the partial segment): what came after the data. */
  archive_latest: string | null;
}

export interface RestoreArgs {
  conn: Connector; // the restoring host's
  to: Host;
  store: Host;
  source: string; // the database host whose archive is restored
  target: Target;
  cluster: string;
  port: number;
  log: (line: string) => void;
  progress?: NodeJS.WritableStream; // a terminal, or nothing (--json)
  /** The source's PostgreSQL version as the inventory says: the empty cluster is made while the base arrives. */
  version?: number;
  timeoutS?: number;
}

/** Ports of the clusters a host has (running or not) and the TCP ports something listens on: for choosing a free one. */
export const PORTS_SCRIPT = `pg_lsclusters -h 2>/dev/null | awk '{ print "cluster", $3, $1 "/" $2, $4 }'; ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print "listen", a[n] }'`;

/** Pure: why `port` cannot take a restored cluster on the host whose PORTS_SCRIPT printed `stdout`, or null. */
export function portTaken(stdout: string, port: number): string | null {
  const lines = stdout.split('\n').map((l) => l.split(' ')).filter((f) => Number(f[1]) === port);
  const cluster = lines.find((f) => f[0] === 'cluster');
  if (cluster) return `port ${port} belongs to cluster ${cluster[2]} (${cluster[3] ?? '?'}) on this host: a restore never goes over or beside a cluster on its port (choose another --port)`;
  return lines.length ? `something listens on port ${port} on this host (choose another --port)` : null;
}

/** Pure: the first port from 5433 up that no cluster of the host has and nothing listens on. */
export function freePort(stdout: string): number {
  const used = new Set(stdout.split('\n').map((l) => Number(l.split(' ')[1])).filter(Number.isInteger));
  for (let p = 5433; p < 6000; p++) if (!used.has(p)) return p;
  throw new OperationError('no free port between 5433 and 5999 for the restored cluster');
}

/** Run the restore; on a failure after anything was made on the host, what this restore made is removed. */
export async function runRestore(args: RestoreArgs): Promise<RestoreResult> {
  const started = Date.now();
  const { conn, source, cluster } = args;
  const fetch = (what: FetchMode, label: string) => step(conn, fetchScript({ store: args.store, source, cluster, what }), label);
  args.log(`${args.to.name}: reading the archive of ${source} on ${args.store.name} (nothing asks ${source} itself)`);
  let version = 0;
  let baseId: string | null = null; // (chosen once the store's list is read)
  const other = (mode: 'reclaim' | 'create' | 'uncreate' | 'drop', v: number) => restoreScript({ mode, version: v, cluster, port: args.port, source, base: baseId, target: null });
  const hint = args.version;
  // first, a restore under this name that a crash or a power loss cut short (never said done) is removed, to be made
  // anew; anything else of that name refuses the restore (and is never dropped by its failure: `ours` stays false)
  let ours = false;
  const reclaiming = step(conn, other('reclaim', hint ?? 15), 'looking for an unfinished restore of that name').then((out) => {
    ours = true;
    const r = tags(out).reclaimed;
    if (r) args.log(`${args.to.name}: ${cluster}: ${r}: removed, made anew`);
  });
  reclaiming.catch(() => undefined); // (awaited before the base is fetched)
  let made = Boolean(hint);
  // the empty cluster (initdb), for the version the inventory says, is made while the store's list is read and the
  // base fetched (it refuses a port any cluster has or anything listens on); when it fails, the fetch is cut short
  const creating = hint ? reclaiming.then(() => step(conn, other('create', hint), 'making the empty cluster')).catch(async (e: unknown) => { await cutFetch(conn, cluster); throw e; }) : undefined;
  let createFailed: { e: unknown } | undefined;
  creating?.catch((e: unknown) => (createFailed = { e })); // (awaited below, or before the drop when the list fails first)
  let archiveLatest: string | null = null;
  try {
    let list;
    try {
      const [out, ports] = await Promise.all([fetch({ mode: 'list' }, 'reading the store\'s archive list'), hint ? undefined : conn.run(PORTS_SCRIPT)]);
      list = parseList(out, source);
      const taken = ports && portTaken(ports.stdout, args.port);
      if (taken) throw new SafetyRefusal(`${args.to.name}: refused: ${taken}`);
    } catch (e) {
      throw e instanceof OperationError || e instanceof SafetyRefusal ? e : new SafetyRefusal(`${args.store.name}: ${(e as Error).message}`);
    }
    const commits = [...list.wal.map((w) => w.last_commit), list.partial?.last_commit ?? null].filter((c): c is string => c !== null);
    archiveLatest = commits.sort((a, b) => isoMs(a)! - isoMs(b)!).pop() ?? null;
    const base = chooseBase(list.bases, args.target);
    if (!base) {
      const oldest = list.bases.map((b) => b.end_time).sort()[0];
      throw new UserError(`no base backup of ${source} ended by ${args.target.kind === 'time' ? args.target.text : args.target.kind === 'point' ? `restore point ${args.target.name}` : 'now'}`, oldest ? `the earliest restorable time is ${oldest} (see ironclad pitr status)` : `the store has no base backup of ${source} yet: ironclad pitr base --host ${source}`);
    }
    baseId = base.id;
    await reclaiming;
    if (createFailed) throw createFailed.e; // (no base fetched for a cluster that could not be made)
    args.log(`${args.to.name}: base backup ${base.id} (ended ${base.end_time}, ${base.bytes} bytes encrypted) into cluster ${cluster} on port ${args.port}`);
    const [f, c] = await Promise.allSettled([fetchForRestore({ conn, store: args.store, source, cluster, target: args.target, base, list, log: args.log, progress: args.progress }), creating]);
    if (c.status === 'rejected') throw c.reason;
    if (f.status === 'rejected') throw f.reason;
    const got = f.value;
    version = got.version;
    if (hint && hint !== version) {
      args.log(`${args.to.name}: base backup ${base.id} is of PostgreSQL ${version}, not ${hint} as the inventory says: the cluster is made for ${version}`);
      await step(conn, other('uncreate', hint), `removing the cluster made for PostgreSQL ${hint}`);
    }
    const { plan, segSize } = got;
    const target = got.useTarget && args.target.kind === 'time' ? args.target.text : null;
    const point = args.target.kind === 'point' ? args.target.name : undefined;
    const script = (mode: 'make' | 'status' | 'finish') => restoreScript({ mode, version, cluster, port: args.port, source, base: base.id, target, point });
    made = true;
    const made0 = Date.now();
    const madeOut = await step(conn, script('make'), 'making the restored cluster');
    args.log(`${args.to.name}: cluster ${cluster} made and recovering, in ${secs(made0)}${stagesText(tags(madeOut).took)}`);
    const fromLsn = lsnValue(base.start_lsn);
    const endSeg = plan.partial ?? plan.segments[plan.segments.length - 1];
    const endBytes = endSeg ? Number((segmentNumber(endSeg, segSize).segno + 1n) * BigInt(segSize) - fromLsn) : 0;
    let state: Record<string, string> = {};
    const t0 = Date.now();
    // (the WAL still arriving when got.overlapped: its failure ends the watch, and the restore)
    let walFailed: { e: unknown } | undefined;
    got.rest.catch((e: unknown) => (walFailed = { e }));
    const replay = async () => `copying 0 1 ${state.replay && /^[0-9A-F]+\/[0-9A-F]+$/.test(state.replay) ? Math.max(0, Number(lsnValue(state.replay) - fromLsn)) : 0} ${endBytes}`;
    await withProgress(args.progress, got.overlapped ? ['wal', 'replay'] : ['replay'], (i) => (got.overlapped && i === 0 ? got.readWal() : replay()), async () => {
      const deadline = Date.now() + (args.timeoutS ?? 6 * 3600) * 1000;
      for (;;) {
        if (walFailed) throw walFailed.e;
        const out = await step(conn, script('status'), 'watching recovery');
        state = tags(out);
        if (state.state === 'promoted') return args.log(`${args.to.name}: the WAL replayed and the cluster promoted in ${secs(t0)}`);
        if (state.state === 'down') {
          const lines = out.split('\n').filter((l) => l.startsWith('@@log ')).map((l) => `  ${l.slice(6)}`);
          throw new SafetyRefusal(`${args.to.name}: the restored server stopped during recovery; the end of its log:\n${lines.join('\n')}`);
        }
        if (Date.now() > deadline) throw new OperationError(`${args.to.name}: recovery did not finish within ${args.timeoutS ?? 6 * 3600} s`);
        await new Promise((r) => setTimeout(r, 100)); // (status itself waits up to a second for the promotion)
      }
    });
    const partial = await got.rest;
    const t1 = Date.now();
    const done = tags(await step(conn, script('finish'), 'checking the restored cluster'));
    args.log(`${args.to.name}: the restored cluster checked in ${secs(t1)}${stagesText(done.took)}`);
    if (done.sysid !== base.system_identifier) throw new SafetyRefusal(`${args.to.name}: the restored cluster's system identifier ${done.sysid} is not ${base.system_identifier}`);
    const stoppedAt = /^(before|after) (.*)$/.exec(done.stopped ?? '');
    return {
      host: args.to.name,
      source,
      cluster,
      version,
      port: args.port,
      base: base.id,
      target: args.target.kind === 'time' ? args.target.text : args.target.kind === 'point' ? args.target.name : 'latest',
      stopped: target || point ? 'target' : 'end',
      last_commit: pgTimeToIso(done.last) ?? (stoppedAt?.[1] === 'after' ? pgTimeToIso(stoppedAt[2]) : null),
      first_excluded: stoppedAt?.[1] === 'before' ? pgTimeToIso(stoppedAt[2]) : null,
      segments: plan.segments.length,
      partial,
      bytes: base.bytes,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      system_identifier: done.sysid,
      archive_latest: archiveLatest,
    };
  } catch (e) {
    await Promise.allSettled([reclaiming, creating]); // (a cluster still being made is dropped once it is)
    if (!ours) throw e;
    await conn.run(other('drop', version || hint || 15)).catch(() => undefined); // (what was fetched goes too)
    if (made) args.log(`${args.to.name}: the restored cluster ${cluster} was removed after the failure`);
    throw e;
  }
}

export type { BaseBackup };
