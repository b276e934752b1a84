// The host script (scan.sh) as ironclad sends it: its invocation, and its answers parsed back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError, UserError } from '../core/errors.js';
import { packageRoot } from '../core/paths.js';
import { shq } from '../core/quote.js';
import type { RunResult } from '../connectors/types.js';
import { tail } from '../connectors/output.js';
import { parseAssignments } from '../facts/text.js';
import type { HashAlgo, ScanMode, ScanStats } from './types.js';

let text: string | undefined;

/** Path of the host script in the package (read from src/ also when running from dist/). */
export function scanScriptPath(): string {
  return join(packageRoot(), 'src', 'images', 'scan.sh');
}

/** The host script's text, read once. */
export function scanScript(): string {
  return (text ??= readFileSync(scanScriptPath(), 'utf8'));
}

/** Knobs of the host script that tests and benchmarks turn; the defaults suit production. */
export interface ScanTuning {
  jobs?: number;
  chunkFiles?: number;
  chunkBytes?: number;
  batch?: number;
}

/** One invocation of the host script. */
export type ScriptCall =
  | { op: 'probe'; root: string; cacheDir?: string }
  | { op: 'scan'; root: string; cacheDir?: string; algo: HashAlgo; mode: ScanMode; manifest: string; progress?: string; pack: 'none' | 'gz'; tuning?: ScanTuning };

function modeArgs(mode: ScanMode): Record<string, string | number> {
  switch (mode.kind) {
    case 'cached':
    case 'rehash':
      return { mode: mode.kind };
    case 'sample':
      return { mode: 'sample', permyriad: Math.round(mode.percent * 100), seed: mode.seed };
    case 'slice':
      return { mode: 'slice', slices: mode.slices, slice: mode.slice };
  }
}

function callArgs(call: ScriptCall): Record<string, string | number | undefined> {
  const common = { op: call.op, root: call.root, cachedir: call.cacheDir };
  if (call.op === 'probe') return common;
  const t = call.tuning ?? {};
  return {
    ...common,
    algo: call.algo,
    ...modeArgs(call.mode),
    manifest: call.manifest,
    progress: call.progress,
    pack: call.pack,
    jobs: t.jobs,
    chunk_files: t.chunkFiles,
    chunk_bytes: t.chunkBytes,
    batch: t.batch,
  };
}

/** The shell text that runs the host script with `sh` (whatever the login shell is), arguments as key=value words. */
export function scriptCommand(call: ScriptCall, script = scanScript()): string {
  const args = Object.entries(callArgs(call))
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => shq(`${k}=${v}`));
  return ['sh', '-c', shq(script), 'ironclad-images', ...args].join(' ');
}

/** What the probe learned about a side: where its cache files go, which hashes it can compute. */
export interface Probe {
  prefix: string;
  algos: HashAlgo[];
  jobs: number;
}

const isAlgo = (s: string): s is HashAlgo => s === 'sha256' || s === 'blake3' || s === 'xxh128' || s === 'crc32';

/** Parse the probe's answer. */
export function parseProbe(stdout: string): Probe {
  const v = parseAssignments(stdout);
  if (!v.prefix) throw new OperationError(`unexpected answer from the image scanner: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { prefix: v.prefix, algos: (v.algos ?? '').split(',').filter(isAlgo), jobs: Number(v.jobs) || 1 };
}

const statFields = ['files', 'bytes', 'hashed', 'hashed_bytes', 'cached', 'unhashed', 'unreadable', 'walk_errors'] as const;

/** Parse the scan's closing report (key=value lines). */
export function parseScanStats(stdout: string): ScanStats {
  const v = parseAssignments(stdout);
  const missing = statFields.filter((k) => !/^\d+$/.test(v[k] ?? ''));
  if (missing.length) throw new OperationError(`unexpected answer from the image scanner (no ${missing.join(', ')}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const stats = Object.fromEntries(statFields.map((k) => [k, Number(v[k])])) as Omit<ScanStats, 'tool'>;
  return { ...stats, ...(/^\d+$/.test(v.rot_found ?? '') ? { rot_found: Number(v.rot_found) } : {}), tool: v.tool ?? '' };
}

/** The error for a failed host script run, by its exit code (see scan.sh). */
export function scriptFailure(where: string, result: RunResult): Error {
  const detail = tail(result.stderr || result.stdout, 4);
  switch (result.code) {
    case 66:
      return new UserError(`${where}: no such directory`, 'check the path (and the host) and try again');
    case 69:
      return new OperationError(`${where}: the hashing tool is missing on ${result.host}\n${detail}`);
    case 75:
      return new OperationError(`${where}: another images compare is scanning this tree right now; try again when it is done`);
    default:
      return new OperationError(`${where}: the image scanner failed on ${result.host} (exit ${result.code})\n${detail}`);
  }
}
