// What a point-in-time restore fetches onto the restoring host: the base backup and the WAL after it, at once (two
// streams from the store: the base's unpacking and the WAL's decryption share the host's cores), the WAL's end first
// (its newest commit decides whether recovery stops at the target or at the archive's end).
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { shq } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { tail } from '../executor/run.js';
import type { Host } from '../inventory/types.js';
import { watchProgress } from '../images/progress.js';
import { isoMs, planWal, type BaseBackup, type parseList, type Target, type WalPlan } from './restore-plan.js';
import { checkFetchedBase, fetchScript, pgTimeToIso, restorePaths, tags, type FetchMode } from './restore-scripts.js';

/** Run a host script; exit 3 is a refusal, any other failure names `what`. */
export async function step(conn: Connector, script: string, what: string, timeoutMs = 6 * 3600_000): Promise<string> {
  const r = await conn.run(script, { timeoutMs });
  if (r.code === 3) throw new SafetyRefusal(`${conn.host}: ${tail(r.stderr).trim()}`);
  if (r.code !== 0) throw new OperationError(`${conn.host}: ${what} failed (exit ${r.code})\n${tail(r.stderr || r.stdout)}`);
  return r.stdout;
}

/** `work` with a progress line on a terminal (bytes, rate and time left per label), nothing without one. */
export async function withProgress<T>(out: NodeJS.WritableStream | undefined, labels: string[], read: (i: number) => Promise<string>, work: () => Promise<T>): Promise<T> {
  const w = out && watchProgress({ labels, read, out, intervalMs: 1000 });
  try {
    return await work();
  } finally {
    w?.stop();
  }
}

export interface FetchArgs {
  conn: Connector;
  store: Host;
  source: string;
  cluster: string;
  target: Target;
  base: BaseBackup;
  list: ReturnType<typeof parseList>;
  log: (line: string) => void;
  progress?: NodeJS.WritableStream;
}

/** What was fetched: the base's version, the WAL plan, whether the partial segment came, and the recovery target. */
export interface Fetched {
  version: number;
  segSize: number;
  plan: WalPlan;
  /** True when the rest of the WAL is still being fetched (the replay may start: restore_command waits for it). */
  overlapped: boolean;
  /** The end of the WAL fetch: whether the partial segment came. */
  rest: Promise<boolean>;
  /** The WAL fetch's progress line. */
  readWal: () => Promise<string>;
  /** Recovery stops at the target time (the WAL holds a commit after it); else it goes to the archive's end. */
  useTarget: boolean;
}

/** Remove the restore's stage and WAL folders (as postgres): a fetch still writing there fails at its next write. */
export async function cutFetch(conn: Connector, cluster: string): Promise<void> {
  const p = restorePaths(cluster);
  await conn.run(`runuser -u postgres -- rm -rf ${shq(p.stage)} ${shq(p.waldir)}`).catch(() => undefined);
}

/** Seconds since `ms`, as the restore's lines say them. */
export const secs = (ms: number) => `${((Date.now() - ms) / 1000).toFixed(1)} s`;

/** Fetch the base and the WAL a restore needs into the host's stage (restorePaths), checked; the caller drops them on a failure. */
export async function fetchForRestore(a: FetchArgs): Promise<Fetched> {
  const { conn, base, target } = a;
  const host = conn.host;
  const p = restorePaths(a.cluster);
  const fetch = (what: FetchMode, label: string) => step(conn, fetchScript({ store: a.store, source: a.source, cluster: a.cluster, what }), label);
  const got: { base?: { version: number; segSize: number } } = {};
  const getBase = async () => {
    const t0 = Date.now();
    got.base = checkFetchedBase(await fetch({ mode: 'base', id: base.id }, `fetching base backup ${base.id}`), base);
    a.log(`${host}: base backup ${base.id} fetched, decrypted and unpacked in ${secs(t0)}`);
    return got.base;
  };
  const readBase = async () => `copying 0 1 ${Number((await conn.run(`tr '\\r' '\\n' < ${shq(p.progress)} 2>/dev/null | sed -n 's/^\\([0-9][0-9]*\\) bytes.*/\\1/p' | tail -n 1`)).stdout.trim()) || 0} ${base.bytes}`;
  const readWal = async () => (await conn.run(`cat ${shq(`${p.progress}.wal`)} 2>/dev/null`)).stdout;
  // the segment size from the store's index: the WAL is planned, and fetched, while the base arrives (without an
  // index line the base comes first and says it); the base's own word is checked against it below
  const segSize = a.list.segSize ?? (await withProgress(a.progress, ['base'], readBase, getBase)).segSize;
  let plan = planWal({ base, wal: a.list.wal, segSize, target });
  if (plan.problem) throw new SafetyRefusal(`${a.source}'s archive cannot give this restore: ${plan.problem}`);
  const beside = !got.base;
  a.log(`${host}: ${plan.segments.length} WAL segments${plan.partial ? ' and the partial segment' : ''} of ${(segSize / 1048576).toFixed(0)} MB${beside ? ', fetched beside the base backup' : ''}`);
  const getWal = (segments: string[]) => fetch({ mode: 'wal', segments, segSize }, `fetching ${segments.length} WAL segments`);
  const getPartial = async (segment: string) => {
    const answer = tags(await fetch({ mode: 'partial', segment, segSize }, 'fetching the partial segment')).partial ?? 'no';
    if (!answer.startsWith('yes')) a.log(`${host}: no partial segment ${segment} from the store (${answer.replace(/^no ?/, '') || 'none'}): the restore ends with the last completed segment`);
    return answer.startsWith('yes');
  };
  const newest = async (segment: string) => pgTimeToIso(tags(await fetch({ mode: 'commits', segment }, 'reading commit times')).commit);
  const after = (t: string | null) => target.kind === 'time' && t !== null && isoMs(t)! > target.ms;
  const flag = `${p.waldir}/.fetching`;
  let t: string | null = null;
  /** True when the recovery settings are known before all the WAL is here (the replay can start meanwhile). */
  const decide = async () => {
    if (target.kind === 'time' && !plan.partial && plan.segments.length) {
      // the segment the index says holds the first commit after the target, first: does it?
      const last = plan.segments[plan.segments.length - 1];
      await getWal([last]);
      t = await newest(last);
      if (after(t)) return true;
      // the store's index said a later commit is there and the segment itself says otherwise: the archive to its end
      plan = planWal({ base, wal: a.list.wal, segSize, target: { kind: 'latest' } });
      t = null;
    }
    return target.kind !== 'time';
  };
  const rest = async () => {
    const t0 = Date.now();
    await getWal(plan.segments);
    const partial = plan.partial ? await getPartial(plan.partial) : false;
    const end = partial ? plan.partial! : plan.segments[plan.segments.length - 1];
    if (target.kind === 'time' && t === null && end) t = await newest(end);
    a.log(`${host}: ${plan.segments.length} WAL segments${partial ? ' and the partial one' : ''} fetched in ${secs(t0)}`);
    await conn.run(`rm -f ${shq(`${p.progress}.wal`)}`);
    return { partial, useTarget: after(t) };
  };
  // while the flag is there the restored server's restore_command waits for a segment not yet fetched (restore.sh);
  // it goes once every segment is here, and stays after a failure (the server then never ends recovery early)
  const walPhase = async () => {
    if (!(await decide())) return { r: await rest() };
    await step(conn, `runuser -u postgres -- sh -c 'mkdir -p -m 700 "$1" && : > "$1/.fetching"' sh ${shq(p.waldir)}`, 'marking the WAL fetch');
    return { r: null };
  };
  // when one fails the other is cut short (its folder removed under it: its next write fails), and both end before the
  // failure is reported (the caller then removes whatever they made)
  const cut = <T>(x: Promise<T>) => x.catch(async (e: unknown) => {
    await cutFetch(conn, a.cluster);
    throw e;
  });
  const [w, b] = await withProgress(a.progress, beside ? ['base', 'wal'] : ['wal'], (i) => (beside && i === 0 ? readBase() : readWal()), () => Promise.allSettled([cut(walPhase()), beside ? cut(getBase()) : Promise.resolve(got.base!)]));
  if (w.status === 'rejected' || b.status === 'rejected') throw b.status === 'rejected' ? b.reason : (w as PromiseRejectedResult).reason;
  if (b.value.segSize !== segSize) throw new SafetyRefusal(`${host}: base backup ${base.id} has WAL segments of ${b.value.segSize} bytes; the store's index spans ${segSize}: the archive is not this base's`);
  await conn.run(`rm -f ${shq(p.progress)}`);
  const later = w.value.r ? Promise.resolve(w.value.r) : rest().then(async (r) => (await step(conn, `runuser -u postgres -- rm -f ${shq(flag)}`, 'ending the WAL fetch'), r));
  const partial = later.then((r) => r.partial);
  partial.catch(() => undefined); // (awaited by the caller, which may fail first)
  const useTarget = w.value.r ? w.value.r.useTarget : target.kind === 'time';
  if (target.kind === 'time' && !useTarget) a.log(`${host}: the archive holds no commit after ${target.text}: recovering to its end`);
  return { version: b.value.version, segSize, plan, useTarget, overlapped: !w.value.r, rest: partial, readWal };
}
