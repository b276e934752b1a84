// The human side of images repair: the plan before the confirmation, and the report after.
import { shq } from '../core/quote.js';
import { humanBytes } from '../facts/render.js';
import { count } from './render.js';
import type { RepairResult } from './repair-plan.js';

const shown = (path: string) => JSON.stringify(path).slice(1, -1);

function list(out: string[], label: string, paths: string[], limit: number): void {
  for (const p of paths.slice(0, limit)) out.push(`  ${label}: ${shown(p)}`);
  if (paths.length > limit) out.push(`  ${label}: ... ${count(paths.length - limit)} more`);
}

/** What the repair found besides the copies: rot on the source (never copied), extras (kept), skipped files. */
function leftAlone(r: RepairResult, out: string[], limit: number): void {
  if (r.source_rot.length) {
    out.push('', `  rot on the source: ${count(r.source_rot.length)} file(s) NOT copied (their bytes changed while size, mtime and inode did not)`);
    const healthy = new Set(r.source_rot_replica_healthy);
    for (const p of r.source_rot.slice(0, limit))
      out.push(`    ${shown(p)}: ${healthy.has(p) ? "the replica still has the source's last good copy" : 'the replica has no good copy either'}`);
    if (r.source_rot_replica_healthy.length)
      out.push(`  to restore one from the replica (after checking it): ironclad images repair ${shq(r.replica)} ${shq(r.source)} --only ${shq(r.source_rot_replica_healthy[0])}`);
  }
  if (r.extra.length) out.push('', `  extra on the replica: ${count(r.extra.length)} file(s), kept (a repair never deletes)`);
  for (const s of r.skipped.slice(0, limit)) out.push(`  skipped: ${shown(s.path)}: ${s.why}`);
}

/** The plan, shown before the confirmation (and for --dry-run). */
export function renderRepairPlan(r: RepairResult, limit = 20): string {
  const { copy, replace, bytes } = r.planned;
  const out = [`images repair ${r.name} (${r.hash})`];
  if (!copy && !replace) out.push('  nothing to copy or replace');
  else out.push(`  would copy ${count(copy)} missing file(s) and replace ${count(replace)} different one(s): ${humanBytes(bytes)} from the source`);
  if (replace) out.push(`  replaced files are kept in ${r.quarantine}`);
  leftAlone(r, out, limit);
  return out.join('\n') + '\n';
}

/** The report after the copies. */
export function renderRepairResult(r: RepairResult, limit = 20): string {
  const out = [`images repair ${r.name} (${r.hash})${r.transfer ? `: ${r.transfer.mode} copy, ${r.transfer.reason}` : ''}`];
  out.push(`  copied ${count(r.copied.length)}, replaced ${count(r.replaced.length)} (${humanBytes(r.copied_bytes)}), each checksummed after the copy`);
  list(out, 'copied', r.copied, limit);
  list(out, 'replaced', r.replaced, limit);
  if (r.replaced.length) out.push(`  the replaced files are kept in ${r.quarantine} (removed by age, never by a repair)`);
  for (const f of r.failed.slice(0, limit)) out.push(`  FAILED: ${shown(f.path)}: ${f.why}`);
  leftAlone(r, out, limit);
  if (!r.copied.length && !r.replaced.length && !r.failed.length && !r.planned.copy && !r.planned.replace) out.push('  nothing to copy or replace');
  return out.join('\n') + '\n';
}
