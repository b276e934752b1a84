// images compare: probe both sides, scan both where the data lives (in parallel), stream-merge the two manifests.
import { randomBytes } from 'node:crypto';
import { OperationError } from '../core/errors.js';
import { diffSorted } from './diff.js';
import { describeLocation } from './locations.js';
import { entryBatches } from './manifest.js';
import { watchProgress } from './progress.js';
import { ReportWriter } from './report-file.js';
import type { Probe, ScanTuning } from './script.js';
import { manifestBytes, parseEarly, probeSide, readProgress, removeRunFiles, runFiles, scanSide, type RunFiles, type Side } from './side.js';
import { buildResult, Tally, type CompareResult } from './summary.js';
import type { Entry, HashAlgo, HashChoice, Row, ScanMode, ScanStats } from './types.js';

/** One comparison; the caller opens the sides' connectors and closes them afterwards. */
export interface CompareRequest {
  name: string;
  source: Side;
  replica: Side;
  hash: HashChoice;
  mode: ScanMode;
  reportFile?: string;
  listLimit?: number; // paths kept per problem in the result (all by default)
  progress?: NodeJS.WritableStream; // a terminal to show progress on
  tuning?: ScanTuning;
  onRows?: (rows: Row[]) => void; // every row, as the merge finds them (repair plans from them)
}

/** In order of preference, the hashes that answer each choice. */
const PREFERENCES: Record<HashChoice, HashAlgo[]> = {
  crypto: ['blake3', 'sha256'],
  sha256: ['sha256'],
  blake3: ['blake3'],
  fast: ['xxh128', 'crc32', 'blake3', 'sha256'],
};

/** The hash both sides will use: the first of the choice's preferences that both have. */
export function chooseAlgo(choice: HashChoice, source: HashAlgo[], replica: HashAlgo[]): HashAlgo {
  const both = (a: HashAlgo) => source.includes(a) && replica.includes(a);
  const wanted = PREFERENCES[choice];
  const algo = wanted.find(both);
  if (!algo) throw new OperationError(`no ${choice} hash tool on both sides (source has ${source.join(', ') || 'none'}, replica has ${replica.join(', ') || 'none'})`);
  return algo;
}

/** Wait for every promise (no side is left running unwatched), then fail with the first failure. */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/** A side's entries: those parsed when its scan ended, else its manifest streamed. */
async function* sideEntries(side: Side, files: RunFiles, early: Entry[] | undefined): AsyncGenerator<Entry[]> {
  if (!early) yield* entryBatches(manifestBytes(side, files));
  else if (early.length) yield early;
}

/** Merge the two manifests into the tally (and the report file), reading each once, in order. */
async function mergeManifests(req: CompareRequest, files: RunFiles[], early: (Entry[] | undefined)[], tally: Tally): Promise<void> {
  const writer = req.reportFile ? await ReportWriter.open(req.reportFile) : undefined;
  try {
    const source = sideEntries(req.source, files[0], early[0]);
    const replica = sideEntries(req.replica, files[1], early[1]);
    for await (const rows of diffSorted(source, replica)) {
      for (const row of rows) tally.add(row);
      req.onRows?.(rows);
      await writer?.write(rows);
    }
  } finally {
    await writer?.close();
  }
}

/** Compare the two trees; the result lists every discrepancy (up to listLimit per kind) with counts and bytes. */
export async function compareImages(req: CompareRequest): Promise<CompareResult> {
  const started = Date.now();
  const sides = [req.source, req.replica];
  const probes: Probe[] = await settleAll(sides.map(probeSide));
  const algo = chooseAlgo(req.hash, probes[0].algos, probes[1].algos);
  const run = randomBytes(6).toString('hex');
  const files = sides.map((side, i) => runFiles(side, probes[i], run));
  const out = req.progress;
  const watcher = out && watchProgress({ labels: sides.map((s) => s.role), read: (i) => readProgress(sides[i], files[i]), out });
  try {
    // each side's manifest is parsed as soon as its scan ends (a small local one), while the other may still scan
    const scanned = async (side: Side, i: number) => {
      const tuning = { jobs: probes[i].jobs, ...req.tuning }; // the probe counted the cores: the scan need not again
      const stats = await scanSide(side, { algo, mode: req.mode, files: files[i], tuning, watched: !!out });
      return { stats, early: await parseEarly(side, files[i]) };
    };
    const done = await settleAll(sides.map(scanned));
    watcher?.stop();
    const stats: ScanStats[] = done.map((d) => d.stats);
    const tally = new Tally(req.listLimit);
    await mergeManifests(req, files, done.map((d) => d.early), tally);
    return buildResult(tally, {
      name: req.name,
      hash: algo,
      mode: req.mode,
      source: { location: describeLocation(req.source.location), ...stats[0] },
      replica: { location: describeLocation(req.replica.location), ...stats[1] },
      reportFile: req.reportFile,
      durationMs: Date.now() - started,
    });
  } finally {
    watcher?.stop();
    await Promise.allSettled(sides.map((side, i) => removeRunFiles(side, files[i])));
  }
}
