// Building the comparison's result from rows: totals per side, counts and bytes per problem, the paths (bounded).
import { displayPath } from './manifest.js';
import { PROBLEMS, type HashAlgo, type Problem, type Row, type ScanMode, type ScanStats } from './types.js';

/** One side in the result: the totals the tests read (files, bytes) and what its scan did. */
export interface SideResult extends Partial<ScanStats> {
  location: string;
  files: number;
  bytes: number;
}

/** The result of `images compare` (the --json document). Lists hold every path unless `lists_complete` is false. */
export type CompareResult = {
  name: string;
  source: SideResult;
  replica: SideResult;
  equal: number;
  unverified: number; // equal by size only: not hashed on one side (--sample)
  mtime_differs: number; // equal content, different whole-second mtime
  counts: Record<Problem, number>;
  problem_bytes: Record<Problem, number>;
  lists_complete: boolean;
  hash: HashAlgo;
  mode: ScanMode;
  report_file?: string;
  duration_ms: number;
} & Record<Problem, string[]>;

const zeroes = (): Record<Problem, number> => ({ missing: 0, extra: 0, size_mismatch: 0, content_mismatch: 0, source_rot: 0, unreadable: 0 });

/** Accumulates rows as they stream by; keeps at most `listLimit` paths per problem (Infinity for --json). */
export class Tally {
  readonly source = { files: 0, bytes: 0 };
  readonly replica = { files: 0, bytes: 0 };
  readonly counts = zeroes();
  readonly bytes = zeroes();
  readonly lists: Record<Problem, string[]> = { missing: [], extra: [], size_mismatch: [], content_mismatch: [], source_rot: [], unreadable: [] };
  equal = 0;
  unverified = 0;
  mtimeDiffers = 0;

  constructor(private readonly listLimit = Infinity) {}

  /** Count one row. */
  add(row: Row): void {
    if (row.status !== 'extra') this.count(this.source, row.source.size);
    if (row.status !== 'missing' && row.replica) this.count(this.replica, row.replica.size);
    switch (row.status) {
      case 'equal':
        this.equal++;
        if (!row.verified) this.unverified++;
        if (row.source.mtime !== row.replica.mtime && Math.trunc(Number(row.source.mtime)) !== Math.trunc(Number(row.replica.mtime))) this.mtimeDiffers++;
        return;
      case 'extra':
        return this.problem(row.status, row.path, row.replica.size);
      case 'missing':
      case 'size_mismatch':
      case 'content_mismatch':
      case 'source_rot':
      case 'unreadable':
        return this.problem(row.status, row.path, row.source.size);
    }
  }

  private count(side: { files: number; bytes: number }, size: number): void {
    side.files++;
    side.bytes += size;
  }

  private problem(kind: Problem, path: string, size: number): void {
    this.counts[kind]++;
    this.bytes[kind] += size;
    if (this.lists[kind].length < this.listLimit) this.lists[kind].push(displayPath(path));
  }
}

/** The result document from a finished tally and what is known about the run. */
export function buildResult(
  tally: Tally,
  run: { name: string; hash: HashAlgo; mode: ScanMode; source: Omit<SideResult, 'files' | 'bytes'>; replica: Omit<SideResult, 'files' | 'bytes'>; reportFile?: string; durationMs: number },
): CompareResult {
  return {
    name: run.name,
    source: { ...run.source, ...tally.source },
    replica: { ...run.replica, ...tally.replica },
    ...tally.lists,
    equal: tally.equal,
    unverified: tally.unverified,
    mtime_differs: tally.mtimeDiffers,
    counts: { ...tally.counts },
    problem_bytes: { ...tally.bytes },
    lists_complete: PROBLEMS.every((p) => tally.lists[p].length === tally.counts[p]),
    hash: run.hash,
    mode: run.mode,
    ...(run.reportFile ? { report_file: run.reportFile } : {}),
    duration_ms: run.durationMs,
  };
}

/** Exit code of a finished comparison: 3 when anything differs or could not be read or walked, else 0. */
export function compareExitCode(result: CompareResult): number {
  const walkErrors = (result.source.walk_errors ?? 0) + (result.replica.walk_errors ?? 0);
  return PROBLEMS.some((p) => result.counts[p] > 0) || walkErrors > 0 ? 3 : 0;
}
