// The human summary of a comparison: both sides, every kind of discrepancy with count and bytes, the first paths.
import { shq } from '../core/quote.js';
import { humanBytes } from '../core/bytes.js';
import type { CompareResult, SideResult } from './summary.js';
import { PROBLEMS, type Problem, type ScanMode } from './types.js';

/** How each problem reads in the summary. */
export const PROBLEM_LABELS: Record<Problem, string> = {
  missing: 'missing on replica',
  extra: 'extra on replica',
  size_mismatch: 'size mismatch',
  content_mismatch: 'content mismatch',
  source_rot: 'rot on source',
  unreadable: 'unreadable',
};

/** An integer with thousands separators (12,000); toLocaleString would load ICU data, slow on a short run. */
export function count(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function modeText(mode: ScanMode): string {
  switch (mode.kind) {
    case 'cached':
      return 'hashes reused from the cache where size, mtime, ctime and inode are unchanged';
    case 'rehash':
      return 'every file hashed (--rehash)';
    case 'slice':
      return `slice ${mode.slice + 1} of ${mode.slices} rehashed, the rest from the cache`;
    case 'sample':
      return `sample of ${mode.percent}% rehashed (seed ${mode.seed}, repeat with --seed ${mode.seed}), the rest from the cache`;
  }
}

function sideLine(label: string, side: SideResult): string {
  const scan = side.hashed !== undefined ? `  hashed ${count(side.hashed)} (${humanBytes(side.hashed_bytes ?? 0)}), cached ${count(side.cached ?? 0)}` : '';
  const walk = side.walk_errors ? `  ${count(side.walk_errors)} unreadable directories` : '';
  return `  ${label.padEnd(9)}${count(side.files).padStart(12)} files ${humanBytes(side.bytes).padStart(11)}${scan}${walk}   ${side.location}`;
}

/** What rot on the source means and how to undo it from the replica (a repair never copies a rotten file). */
export function sourceRotAdvice(result: Pick<CompareResult, 'source' | 'replica' | 'source_rot'>): string[] {
  const example = result.source_rot[0] ?? 'PATH';
  return [
    '  rot on source: the bytes changed while size, mtime and inode did not; `images repair` never copies these.',
    "  The replica's copy may be the healthy one (it was, if it still has the hash the source had). Check it, then",
    `  restore it the other way: ironclad images repair ${shq(result.replica.location)} ${shq(result.source.location)} --only ${shq(example)}`,
  ];
}

/** The summary printed without --json. */
export function renderResult(result: CompareResult): string {
  const out = [`images compare ${result.name} (${result.hash}; ${modeText(result.mode)})`, sideLine('source', result.source), sideLine('replica', result.replica), ''];
  out.push(`  ${'equal'.padEnd(20)}${count(result.equal).padStart(12)}${result.unverified ? `   (${count(result.unverified)} by size only, not hashed)` : ''}`);
  for (const p of PROBLEMS) {
    const n = result.counts[p];
    if (n || p !== 'unreadable') out.push(`  ${PROBLEM_LABELS[p].padEnd(20)}${count(n).padStart(12)}${n ? `   ${humanBytes(result.problem_bytes[p])}` : ''}`);
  }
  if (result.mtime_differs) out.push(`  (${count(result.mtime_differs)} equal files have a different mtime)`);
  const shown = PROBLEMS.filter((p) => result[p].length);
  if (shown.length) out.push('');
  for (const p of shown) {
    for (const path of result[p]) out.push(`  ${PROBLEM_LABELS[p]}: ${JSON.stringify(path).slice(1, -1)}`);
    if (result[p].length < result.counts[p]) out.push(`  ${PROBLEM_LABELS[p]}: ... ${count(result.counts[p] - result[p].length)} more`);
  }
  if (result.counts.source_rot) out.push('', ...sourceRotAdvice(result));
  const total = PROBLEMS.reduce((n, p) => n + result.counts[p], 0);
  const walk = (result.source.walk_errors ?? 0) + (result.replica.walk_errors ?? 0);
  out.push('');
  if (!total && !walk) out.push('no discrepancies');
  else {
    const parts = [total ? `${count(total)} discrepancies` : '', walk ? `${count(walk)} directories could not be read` : ''].filter(Boolean);
    out.push(parts.join('; ') + (result.report_file ? `; every row in ${result.report_file}` : '; every row: --report FILE'));
  }
  return out.join('\n') + '\n';
}
