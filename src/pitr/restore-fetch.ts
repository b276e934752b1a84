// What a point-in-time restore fetches onto the restoring host: the base backup and the WAL after it, at once (two
// streams from the store: the base's unpacking and the WAL's decryption share the host's cores), the WAL's end first
// (its newest commit decides whether recovery stops at the target or at the archive's end).
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { shq } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { tail } from '../connectors/output.js';
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

/** The fetches of one restore, each one host script run (fetch.sh) with the store's answer checked. */
function fetcher(a: FetchArgs) {
  const { conn, base } = a;
  const p = restorePaths(a.cluster);
  const fetch = (what: FetchMode, label: string) => step(conn, fetchScript({ store: a.store, source: a.source, cluster: a.cluster, what }), label);
  const fetched = new Set<string>();
  return {
    p,
    base: async () => {
      const t0 = Date.now();
      const got = checkFetchedBase(await fetch({ mode: 'base', id: base.id }, `fetching base backup ${base.id}`), base);
      a.log(`${conn.host}: base backup ${base.id} fetched, decrypted and unpacked in ${secs(t0)}`);
      return got;
    },
    readBase: async () => `copying 0 1 ${Number((await conn.run(`tr '\\r' '\\n' < ${shq(p.progress)} 2>/dev/null | sed -n 's/^\\([0-9][0-9]*\\) bytes.*/\\1/p' | tail -n 1`)).stdout.trim()) || 0} ${base.bytes}`,
    readWal: async () => (await conn.run(`cat ${shq(`${p.progress}.wal`)} 2>/dev/null`)).stdout,
    /** Consecutive segments in one session with the store; those fetched before at either end are not asked again. */
    wal: async (segments: string[], segSize: number) => {
      const todo = trimFetched(segments, fetched);
      if (todo.length) await fetch({ mode: 'wal', segments: todo, segSize }, `fetching ${todo.length} WAL segments`);
      for (const s of todo) fetched.add(s);
    },
    /** The segment the store is still receiving: true when it came (else the restore ends with the last completed one). */
    partial: async (segment: string, segSize: number) => {
      const answer = tags(await fetch({ mode: 'partial', segment, segSize }, 'fetching the partial segment')).partial ?? 'no';
      if (!answer.startsWith('yes')) a.log(`${conn.host}: no partial segment ${segment} from the store (${answer.replace(/^no ?/, '') || 'none'}): the restore ends with the last completed segment`);
      return answer.startsWith('yes');
    },
    /** The newest commit time in a fetched segment (pg_waldump on the host), or null. */
    newest: async (segment: string) => pgTimeToIso(tags(await fetch({ mode: 'commits', segment }, 'reading commit times')).commit),
  };
}

/** Pure: `segments` less the ones at its start and end that `fetched` holds (one asked range stays consecutive; one
 *  fetched in its middle is read off the stream and kept by the host). */
export function trimFetched(segments: string[], fetched: Set<string>): string[] {
  let from = 0;
  let to = segments.length;
  while (from < to && fetched.has(segments[from])) from++;
  while (to > from && fetched.has(segments[to - 1])) to--;
  return segments.slice(from, to);
}

/** Fetch the base and the WAL a restore needs into the host's stage (restorePaths), checked; the caller drops them on a failure. */
export async function fetchForRestore(a: FetchArgs): Promise<Fetched> {
  const { conn, base, target } = a;
  const host = conn.host;
  const f = fetcher(a);
  let baseGot: { version: number; segSize: number } | undefined;
  const getBase = async () => (baseGot = await f.base());
  // the first failure of either side; while the base still arrives the other side is cut short (its folder removed
  // under it: its next write fails) and this one is reported. Once the base is here the WAL is never cut: the server
  // may be replaying it, and a WAL fetch that fails then ends the restore (the caller watches `rest`)
  let first: { e: unknown } | undefined;
  const cut = <T>(x: Promise<T>) => x.catch(async (e: unknown) => {
    first ??= { e };
    if (!baseGot) await cutFetch(conn, a.cluster);
    throw e;
  });
  // the segment size from the store's index: the WAL is planned, and fetched, while the base arrives (without an
  // index line the base comes first and says it); the base's own word is checked against it below
  const segSize = a.list.segSize ?? (await withProgress(a.progress, ['base'], f.readBase, getBase)).segSize;
  const beside = !baseGot;
  const w = walFetch(a, f, segSize);
  a.log(`${host}: ${w.plan.segments.length} WAL segments${w.plan.partial ? ' and the partial segment' : ''} of ${(segSize / 1048576).toFixed(0)} MB${beside ? ', fetched beside the base backup' : ''}`);
  // the WAL side: the segment that decides the recovery target first, then, when the replay may start before all of
  // the WAL is here, the rest of it at once, beside the base (not after it: the replay would wait for it)
  let more: Promise<{ partial: boolean; useTarget: boolean }> | undefined;
  const walSide = async () => {
    const done = await w.start();
    if (!done) more = cut(w.finish());
    more?.catch(() => undefined); // (awaited below, or by the caller)
    return done;
  };
  const [wr, br] = await withProgress(a.progress, beside ? ['base', 'wal'] : ['wal'], (i) => (beside && i === 0 ? f.readBase() : f.readWal()), () => Promise.allSettled([cut(walSide()), beside ? cut(getBase()) : Promise.resolve(baseGot!)]));
  if (wr.status === 'rejected' || br.status === 'rejected') {
    await more?.catch(() => undefined); // (both sides end before the failure is reported: the caller then removes what they made)
    throw first ? first.e : br.status === 'rejected' ? br.reason : (wr as PromiseRejectedResult).reason;
  }
  if (br.value.segSize !== segSize) throw new SafetyRefusal(`${host}: base backup ${base.id} has WAL segments of ${br.value.segSize} bytes; the store's index spans ${segSize}: the archive is not this base's`);
  await conn.run(`rm -f ${shq(f.p.progress)}`);
  const done = wr.value;
  const rest = done ? Promise.resolve(done.partial) : more!.then((r) => r.partial);
  rest.catch(() => undefined); // (awaited by the caller, which may fail first)
  const useTarget = done ? done.useTarget : target.kind === 'time';
  if (target.kind === 'time' && !useTarget) a.log(`${host}: the archive holds no commit after ${target.text}: recovering to its end`);
  return { version: br.value.version, segSize, plan: w.plan, useTarget, overlapped: !done, rest, readWal: f.readWal };
}

/** The WAL side of a restore: `start` decides the recovery target (fetching the segment that should hold the first
 *  commit after it) and either fetches everything (returning the outcome) or marks the fetch as under way (null:
 *  the replay may start, restore_command waiting for what is still to come); `finish` then fetches the rest. */
function walFetch(a: FetchArgs, f: ReturnType<typeof fetcher>, segSize: number) {
  const { base, target } = a;
  const w = { plan: planWal({ base, wal: a.list.wal, segSize, target }), start, finish };
  if (w.plan.problem) throw new SafetyRefusal(`${a.source}'s archive cannot give this restore: ${w.plan.problem}`);
  const after = (t: string | null) => target.kind === 'time' && t !== null && isoMs(t)! > target.ms;
  const flag = `${f.p.waldir}/.fetching`;
  let t: string | null = null;
  /** True when the recovery settings are known before all the WAL is here (the replay can start meanwhile). */
  async function decide() {
    if (target.kind === 'time' && !w.plan.partial && w.plan.segments.length) {
      // the segment the index says holds the first commit after the target, first: does it?
      const last = w.plan.segments[w.plan.segments.length - 1];
      await f.wal([last], segSize);
      t = await f.newest(last);
      if (after(t)) return true;
      // the store's index said a later commit is there and the segment itself says otherwise: the archive to its end
      w.plan = planWal({ base, wal: a.list.wal, segSize, target: { kind: 'latest' } });
      t = null;
    }
    return target.kind !== 'time';
  }
  async function rest() {
    const t0 = Date.now();
    const { segments, partial: next } = w.plan;
    if (segments.length) await f.wal(segments, segSize);
    const partial = next ? await f.partial(next, segSize) : false;
    const end = partial ? next! : segments[segments.length - 1];
    if (target.kind === 'time' && t === null && end) t = await f.newest(end);
    a.log(`${a.conn.host}: ${segments.length} WAL segments${partial ? ' and the partial one' : ''} fetched in ${secs(t0)}`);
    await a.conn.run(`rm -f ${shq(`${f.p.progress}.wal`)}`);
    return { partial, useTarget: after(t) };
  }
  // while the flag is there the restored server's restore_command waits for a segment not yet fetched (restore.sh);
  // it goes once every segment is here, and stays after a failure (the server then never ends recovery early)
  async function start() {
    if (!(await decide())) return rest();
    await step(a.conn, `runuser -u postgres -- sh -c 'mkdir -p -m 700 "$1" && : > "$1/.fetching"' sh ${shq(f.p.waldir)}`, 'marking the WAL fetch');
    return null;
  }
  async function finish() {
    const r = await rest();
    await step(a.conn, `runuser -u postgres -- rm -f ${shq(flag)}`, 'ending the WAL fetch');
    return r;
  }
  return w;
}
