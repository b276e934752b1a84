// images repair: compare, plan from the rows (copy what is missing, replace what differs, never touch rot or extras),
// confirm, then copy, each file checksummed and renamed into place, every replaced file kept in a quarantine.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { SafetyRefusal } from '../core/errors.js';
import { compareImages } from './compare.js';
import { describeLocation } from './locations.js';
import { buildRepairResult, emptyPlan, onlyPaths, planRow, type RepairPlan, type RepairResult, type TaskAnswer, type Transfer } from './repair-plan.js';
import type { SshTarget } from './repair-script.js';
import { chooseTransfer, copyStreamed, copyWithFetch, withSourceModes, type Via } from './repair-transfer.js';
import type { ScanTuning } from './script.js';
import type { Side } from './side.js';
import type { HashChoice, ScanMode } from './types.js';

/** One repair; the caller opens the sides' connectors and closes them afterwards. */
export interface RepairRequest {
  name: string;
  source: Side;
  replica: Side;
  hash: HashChoice;
  mode: ScanMode;
  only?: string[]; // repair these paths only (as typed, relative to the trees)
  via: Via;
  pull?: SshTarget; // how the replica's host would reach the source's host (with the pair's check key, if it has one)
  dryRun: boolean;
  progress?: NodeJS.WritableStream;
  /** Asked once the plan is known and something is to be copied; false stops before anything is written. */
  confirm(plan: RepairResult): Promise<boolean>;
  now?: Date;
  tuning?: ScanTuning;
  pieceBytes?: number;
}

/** The name of this run's quarantine directory, relative to the replica's root: its UTC time, then a random part. */
export function quarantineName(now: Date, run = randomBytes(3).toString('hex')): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `.ironclad-quarantine/${stamp}-${run}`;
}

/** Compare, plan, confirm, copy; the result says what was copied, replaced (and where the old files are), refused. */
export async function repairImages(req: RepairRequest): Promise<RepairResult> {
  const started = Date.now();
  const plan: RepairPlan = emptyPlan();
  const keep = onlyPaths(req.only);
  const compared = await compareImages({
    name: req.name,
    source: req.source,
    replica: req.replica,
    hash: req.hash,
    mode: req.mode,
    listLimit: 0,
    progress: req.progress,
    tuning: req.tuning,
    onRows: (rows) => {
      for (const row of rows) if (!keep || keep(row)) planRow(plan, row);
    },
  });
  const quarantine = quarantineName(req.now ?? new Date());
  const where = describeLocation({ ...req.replica.location, path: posix.join(req.replica.location.path, quarantine) });
  const result = (answers: (TaskAnswer | undefined)[], dryRun: boolean, transfer?: Transfer) =>
    buildRepairResult({ name: req.name, source: compared.source.location, replica: compared.replica.location, hash: compared.hash, plan, answers, transfer, quarantine: where, dryRun, durationMs: Date.now() - started });
  if (req.dryRun || !plan.tasks.length) return result([], req.dryRun);
  if (!(await req.confirm(result([], true)))) throw new SafetyRefusal('the repair was not confirmed: nothing was changed (answer yes on a terminal, or pass --yes)');
  const { transfer, pull } = await chooseTransfer(req.source, req.replica, req.via, req.pull);
  const tasks = await withSourceModes(req.source, plan.tasks);
  const job = { source: req.source, replica: req.replica, algo: compared.hash, quarantine, tasks, progress: req.progress, pieceBytes: req.pieceBytes };
  const answers = transfer.mode === 'controller' ? await copyStreamed(job) : await copyWithFetch(job, transfer.mode === 'pull' ? pull : undefined);
  return result(answers, false, transfer);
}
