// How a repair's bytes travel: read where the source is and written where the replica is, by repair.sh there
// (local, or the replica's host pulling over its own SSH key), or streamed through this machine in pieces.
import { randomBytes } from 'node:crypto';
import { OperationError, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { tail } from '../connectors/output.js';
import { describeLocation } from './locations.js';
import { watchProgress } from './progress.js';
import { escapePath, parseAnswers, taskLine, type RepairTask, type TaskAnswer, type Transfer } from './repair-plan.js';
import { fetchCommand, modesCommand, pieceCommand, progressReadCommand, progressRemoveCommand, repairCommand, sshArgs, type SshTarget } from './repair-script.js';
import type { Side } from './side.js';
import type { HashAlgo } from './types.js';

/** Which way to copy: decide (auto), or insist on the replica's host pulling, or on streaming through here. */
export type Via = 'auto' | 'pull' | 'controller';

/** --via, checked. */
export function parseVia(value: unknown): Via {
  if (value === undefined || value === 'auto' || value === 'pull' || value === 'controller') return (value ?? 'auto') as Via;
  throw new UserError(`--via must be auto, pull or controller (got '${String(value)}')`, 'auto: the replica host pulls when it can reach the source by SSH, else through this machine');
}

/** The last line of an ssh's stderr, for a reason (masked as tail does, without its margin). */
const lastLine = (stderr: string, code: number) => tail(stderr, 1).replace(/^\s*\| /, '').trim() || `ssh exit ${code}`;

/** How the bytes travel, and (a pull) how the replica's host reaches the source's. */
export interface TransferChoice {
  transfer: Transfer;
  pull?: SshTarget;
}

/**
 * Decide how the bytes travel, and say why; a pull is tried only when the replica's host can reach the source's: with
 * the pair's check key when it has one installed (its entry point on the source reads that tree only), else with
 * root's own key (today's way: a key of its own the source accepts without a forced command).
 */
export async function chooseTransfer(source: Side, replica: Side, via: Via, pull?: SshTarget): Promise<TransferChoice> {
  const [s, r] = [source.location, replica.location];
  const to = (mode: Transfer['mode'], reason: string, by?: SshTarget): TransferChoice => ({ transfer: { mode, reason }, ...(by ? { pull: by } : {}) });
  if (s.kind === 'local' && r.kind === 'local') return to('local', 'both trees are on this machine');
  if (s.kind === 'host' && r.kind === 'host' && s.host === r.host) return to('local', `both trees are on ${s.host}`);
  if (s.kind === 'local' || r.kind === 'local') return to('controller', 'one tree is on this machine: the bytes stream through it');
  if (via === 'controller') return to('controller', 'asked for (--via controller): the bytes stream through this machine');
  if (!pull) return to('controller', `no address for ${s.host} in the inventory: the bytes stream through this machine`);
  let keyNote = '';
  if (pull.identity) {
    const id = pull.identity;
    const probe = await replica.connector.run(`[ -f ${shq(id.key)} ] && [ -f ${shq(id.knownHosts)} ] || exit 100; ${sshArgs(pull, 5)} op=probe </dev/null`, { timeoutMs: 20_000 });
    if (probe.code === 0 && /^read=yes$/m.test(probe.stdout)) return to('pull', `${r.host} reaches ${s.host} with the pair's check key (its only command there reads this pair's tree; host key pinned): it pulls the files directly`, pull);
    if (probe.code === 0) keyNote = `the pair's check key reaches ${s.host}, whose entry point cannot read yet (apply again); `;
    else if (probe.code !== 100) keyNote = `the pair's check key did not serve (${lastLine(probe.stderr, probe.code)}); `;
  }
  const own: SshTarget = { user: pull.user, address: pull.address, port: pull.port };
  const probe = await replica.connector.run(`${sshArgs(own, 5)} true </dev/null`, { timeoutMs: 20_000 });
  if (probe.code === 0) return to('pull', `${keyNote}${r.host} reaches ${s.host} with its own SSH key (host key checked): it pulls the files directly`, own);
  const why = lastLine(probe.stderr, probe.code);
  if (via === 'pull') throw new OperationError(`${keyNote}${r.host} cannot reach ${s.host} over SSH by itself (${why}); set up a host-to-host key (a routine check of the pair: apply makes one), or use --via controller`);
  return to('controller', `${keyNote}${r.host} has no SSH access of its own to ${s.host} (${why}): the bytes stream through this machine`);
}

/**
 * The tasks with their source files' modes, asked of the source's host in one round trip (read.sh checks each path as
 * for a copy). A mode the source cannot give ('-': refused, gone) stays unknown: repair.sh then leaves the copy 0600.
 */
export async function withSourceModes(source: Side, tasks: RepairTask[]): Promise<RepairTask[]> {
  if (!tasks.length) return tasks;
  const r = await source.connector.run(modesCommand(source.location.path), { stdin: tasks.map((t) => escapePath(t.path) + '\n').join('') });
  if (r.code !== 0) throw new OperationError(`source ${describeLocation(source.location)}: could not read the files' modes on ${r.host} (exit ${r.code})\n${tail(r.stderr, 4)}`);
  const modes = r.stdout.split('\n');
  return tasks.map((t, i) => (/^[0-7]{3,4}$/.test(modes[i] ?? '') ? { ...t, mode: modes[i] } : t));
}

/** What the copy needs to know, whichever way it goes. */
export interface CopyJob {
  source: Side;
  replica: Side;
  algo: HashAlgo;
  quarantine: string; // relative to the replica's root
  tasks: RepairTask[];
  progress?: NodeJS.WritableStream;
  pieceBytes?: number; // streamed copies: bytes per round trip
}

const failure = (where: string, r: { host: string; code: number; stderr: string }) =>
  r.code === 75
    ? new OperationError(`${where}: another images repair of this tree is running on ${r.host}; try again when it is done`)
    : new OperationError(`${where}: the repair script failed on ${r.host} (exit ${r.code})\n${tail(r.stderr, 4)}`);

/** One repair.sh run on the replica's host does every copy, fetching with `fetch` (here, or a pull over SSH). */
export async function copyWithFetch(job: CopyJob, pull?: SshTarget): Promise<(TaskAnswer | undefined)[]> {
  const { replica } = job;
  const progressFile = `repair-${randomBytes(6).toString('hex')}.progress`; // in a directory of its own there (repair.sh)
  const out = job.progress;
  const watcher = out && watchProgress({ labels: ['copy'], read: async () => (await replica.connector.run(progressReadCommand(progressFile))).stdout, out });
  try {
    const call = { op: 'apply' as const, root: replica.location.path, algo: job.algo, quarantine: job.quarantine, fetch: fetchCommand(job.source.location.path, pull), progress: progressFile };
    const r = await replica.connector.run(repairCommand(call), { stdin: job.tasks.map((t) => taskLine(t) + '\n').join(''), timeoutMs: 0 });
    if (r.code !== 0) throw failure(`replica ${describeLocation(replica.location)}`, r);
    const answers: (TaskAnswer | undefined)[] = [];
    for (const a of parseAnswers(r.stdout)) answers[a.index] = a;
    return answers;
  } finally {
    watcher?.stop();
    await replica.connector.run(progressRemoveCommand(progressFile)).catch(() => undefined);
  }
}

/** Copy each file through this machine: pieces read on the source's host, appended on the replica's, committed there. */
export async function copyStreamed(job: CopyJob): Promise<(TaskAnswer | undefined)[]> {
  const { source, replica, tasks } = job;
  const piece = job.pieceBytes ?? 8 << 20;
  const root = replica.location.path;
  const lines = tasks.map(taskLine);
  const part = await replica.connector.run(repairCommand({ op: 'part', root, algo: job.algo }), { stdin: lines.map((l) => l + '\n').join('') });
  if (part.code !== 0) throw failure(`replica ${describeLocation(replica.location)}`, part);
  const answers: (TaskAnswer | undefined)[] = [];
  const have: number[] = [];
  for (const a of parseAnswers(part.stdout)) (a.status === 'have' ? (have[a.index] = a.bytes) : (answers[a.index] = a));
  const totalBytes = tasks.reduce((n, t) => n + t.size, 0);
  let [doneFiles, doneBytes] = [0, 0];
  const out = job.progress;
  const watcher = out && watchProgress({ labels: ['copy'], read: async () => `copying ${doneFiles} ${tasks.length} ${doneBytes} ${totalBytes}`, out });
  try {
    for (let i = 0; i < tasks.length; i++) {
      if (!answers[i]) answers[i] = await streamOne(job, tasks[i], lines[i], have[i] ?? 0, piece, (n) => (doneBytes += n));
      doneFiles++;
    }
  } finally {
    watcher?.stop();
  }
  return answers;
}

/** One file through this machine, from `offset` (what an earlier run left in its temp file). */
async function streamOne(job: CopyJob, task: RepairTask, line: string, offset: number, piece: number, moved: (n: number) => void): Promise<TaskAnswer> {
  const { source, replica } = job;
  const failed = (detail: string): TaskAnswer => ({ index: 0, status: 'failed', bytes: 0, detail });
  for (let stalls = 0; stalls < 3; ) {
    let bytes = Buffer.alloc(0);
    if (offset < task.size) {
      const r = await source.connector.run(pieceCommand(source.location.path, offset, Math.min(piece, task.size - offset)), { stdin: Buffer.from(task.path, 'latin1') });
      if (r.code === 65) return failed('the source refused the path (it leads out of its tree)');
      if (r.code === 66) return failed('no longer a regular file on the source');
      if (r.code !== 0) return failed(`reading on ${r.host} failed (exit ${r.code}): ${tail(r.stderr, 1).trim()}`);
      bytes = Buffer.from(r.stdout, 'base64');
      if (!bytes.length) return failed('the source file is shorter than when it was scanned (compare again)');
    }
    const w = await replica.connector.run(repairCommand({ op: 'receive', root: replica.location.path, algo: job.algo, quarantine: job.quarantine, task: line, offset }), { stdin: bytes });
    if (w.code !== 0) throw failure(`replica ${describeLocation(replica.location)}`, w);
    const a = parseAnswers(w.stdout)[0];
    if (!a) throw new OperationError(`${w.host}: no answer from the repair script: ${JSON.stringify(w.stdout.slice(0, 200))}`);
    moved(bytes.length);
    if (a.status !== 'have' && a.status !== 'partial') return a;
    stalls = a.bytes > offset ? 0 : stalls + 1;
    offset = a.bytes;
  }
  return failed('the copy makes no progress');
}
