// images check: the routine check of a pair. Each run rehashes the slice verified longest ago (and whatever is new
// or changed), records when, and says how much of the pair was verified within N days; rot, a discrepancy or a file
// not verified within N days fails it (a first cycle under a byte budget is reported as it goes, not failed).
import type { Connector } from '../connectors/types.js';
import type { ImagePair } from '../inventory/types.js';
import { OperationError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { compareImages } from './compare.js';
import { coverageOf, describeCoverage, nextSlice, onTime, parseCoverageState, planSlices, recordRun, resize, type Coverage, type CoverageState, type SlicePlan } from './coverage.js';
import { IMAGE_RECORD_DIR } from './record.js';
import { repairCommand } from './repair-script.js';
import type { ScanTuning } from './script.js';
import type { Side } from './side.js';
import { compareExitCode, type CompareResult } from './summary.js';
import type { HashChoice, ScanMode } from './types.js';

/** How a pair is checked: every file within `days`, `runsPerDay` runs, at most `budgetBytes` read a run on a side. */
export interface CheckSpec {
  days: number;
  runsPerDay: number;
  budgetBytes?: number;
}

/** Where the coverage state is kept: read and written by the caller (the replica's host, in practice). */
export interface CoverageStore {
  read(): Promise<CoverageState | null>;
  save(state: CoverageState): Promise<void>;
}

/** What one check did and found. */
export interface CheckResult {
  compare: CompareResult;
  plan: SlicePlan;
  verified: number | 'all'; // the slice rehashed, or all (a run that hashed every file)
  coverage: Coverage & { text: string };
  ok: boolean; // no discrepancy, and no file whose last verification is older than the days
}

/** One run of the routine check. */
export async function runCheck(req: { name: string; source: Side; replica: Side; hash: HashChoice; spec: CheckSpec; store: CoverageStore; now?: Date; progress?: NodeJS.WritableStream; tuning?: ScanTuning }): Promise<CheckResult> {
  const now = req.now ?? new Date();
  const before = await req.store.read();
  const plan = planSlices({ bytes: before?.bytes ?? 0, days: req.spec.days, runsPerDay: req.spec.runsPerDay, budgetBytes: req.spec.budgetBytes });
  const state = resize(before, plan.slices);
  const slice = nextSlice(state);
  // The first check of a pair hashes everything when no budget bounds it: coverage from day one, not after a cycle.
  const mode: ScanMode = before === null && !req.spec.budgetBytes ? { kind: 'rehash' } : { kind: 'slice', slices: plan.slices, slice };
  const compare = await compareImages({ name: req.name, source: req.source, replica: req.replica, hash: req.hash, mode, listLimit: 100, progress: req.progress, tuning: req.tuning });
  const whole = [compare.source, compare.replica].every((s) => (s.hashed ?? 0) + (s.unreadable ?? 0) >= s.files);
  const verified = whole ? 'all' : slice;
  const after = { ...recordRun(state, verified, now), bytes: Math.max(compare.source.bytes, compare.replica.bytes) };
  await req.store.save(after);
  const c = coverageOf(after, req.spec.days, now);
  return { compare, plan, verified, coverage: { ...c, text: describeCoverage(c) }, ok: compareExitCode(compare) === 0 && onTime(c) };
}

/** A pair's coverage now, from the state its checks keep on the replica's host; undefined when never checked. */
export async function storedCoverage(replica: Connector, pair: ImagePair, now = new Date()): Promise<(Coverage & { text: string }) | undefined> {
  const state = await hostCoverageStore(replica, pair.name)
    .read()
    .catch(() => null);
  if (!state) return undefined;
  const c = coverageOf(state, pair.check?.days ?? 30, now);
  return { ...c, text: describeCoverage(c) };
}

/** Remove the replica's quarantine runs older than `days` (by the UTC time in their names); the names removed. */
export async function pruneQuarantine(replica: Side, days: number): Promise<string[]> {
  const r = await replica.connector.run(repairCommand({ op: 'prune', root: replica.location.path, days }));
  if (r.code !== 0) throw new OperationError(`${r.host}: could not prune the quarantine of ${replica.location.path} (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout.split('\n').flatMap((l) => (l.startsWith('removed\t') ? [l.slice(8)] : []));
}

/** The state file of a pair on its replica's host, beside the pair's record. */
export function coveragePath(name: string): string {
  return `${IMAGE_RECORD_DIR}/${encodeURIComponent(name)}.coverage.json`;
}

/** The coverage state kept on a host (the replica's), written atomically. */
export function hostCoverageStore(conn: Connector, name: string): CoverageStore {
  const path = shq(coveragePath(name));
  return {
    async read() {
      const r = await conn.run(`if [ -f ${path} ]; then cat ${path}; fi`);
      if (r.code !== 0) throw new Error(`${conn.host}: could not read ${coveragePath(name)} (exit ${r.code}): ${r.stderr.trim()}`);
      return parseCoverageState(r.stdout);
    },
    async save(state) {
      const r = await conn.run(`mkdir -p ${shq(IMAGE_RECORD_DIR)} && cat > ${path}.tmp && mv ${path}.tmp ${path}`, { stdin: JSON.stringify(state) + '\n' });
      if (r.code !== 0) throw new Error(`${conn.host}: could not save ${coveragePath(name)} (exit ${r.code}): ${r.stderr.trim()}`);
    },
  };
}
