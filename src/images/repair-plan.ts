// images repair, the pure part: which rows of a comparison become copies, which are refused and why, and the report.
import { currentHash } from './diff.js';
import { displayPath } from './manifest.js';
import type { BytePath, Entry, HashAlgo, Row } from './types.js';

/** One file to bring from the source: absent on the replica (copy) or different there (replace). */
export interface RepairTask {
  kind: 'copy' | 'replace';
  path: BytePath;
  hash: string; // the source's hash: the copy must have it
  size: number;
  mtime: string;
  mode?: string; // the source file's permission bits (octal, as stat %a printed them), learned just before the copy
}

/** A rotten source file; `replicaHealthy`: the replica still has the hash the source's bytes had. */
export interface RotNote {
  path: BytePath;
  replicaHealthy: boolean;
}

/** What a repair would do, from one comparison. */
export interface RepairPlan {
  tasks: RepairTask[];
  sourceRot: RotNote[];
  extra: BytePath[]; // kept, never deleted
  skipped: { path: BytePath; why: string }[]; // not copied: unreadable, unhashed, or a path no one should follow
}

/** Why a path from a manifest cannot be written under a tree, or undefined when it can (the host checks again). */
export function unsafePath(path: BytePath): string | undefined {
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\0')) return 'NUL in path';
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return "a '.', '..' or empty component";
  if (parts[0] === '.ironclad-quarantine') return 'inside the quarantine';
  return undefined;
}

/** The hash a source entry vouches for, only when it was hashed (a rotten or unhashed source is never copied). */
function sourceHash(e: Entry): string | undefined {
  return e.digest.kind === 'hashed' ? e.digest.value : undefined;
}

/** An empty plan to add rows to. */
export function emptyPlan(): RepairPlan {
  return { tasks: [], sourceRot: [], extra: [], skipped: [] };
}

/** Add one comparison row to the plan (rows arrive in path order, so the plan is too). */
export function planRow(plan: RepairPlan, row: Row): void {
  switch (row.status) {
    case 'equal':
      return;
    case 'extra':
      plan.extra.push(row.path);
      return;
    case 'source_rot': {
      const replica = row.replica ? currentHash(row.replica.digest) : undefined;
      const expected = row.source.digest.kind === 'rotten' ? row.source.digest.expected : undefined;
      plan.sourceRot.push({ path: row.path, replicaHealthy: replica !== undefined && replica === expected && row.replica?.size === row.source.size });
      return;
    }
    case 'unreadable':
      plan.skipped.push({ path: row.path, why: 'unreadable on one side' });
      return;
    case 'missing':
    case 'size_mismatch':
    case 'content_mismatch': {
      const hash = sourceHash(row.source);
      const unsafe = unsafePath(row.path);
      if (unsafe) plan.skipped.push({ path: row.path, why: `refused: ${unsafe}` });
      else if (hash === undefined) plan.skipped.push({ path: row.path, why: 'the source file was not hashed' });
      else plan.tasks.push({ kind: row.status === 'missing' ? 'copy' : 'replace', path: row.path, hash, size: row.source.size, mtime: row.source.mtime });
      return;
    }
  }
}

/** Keep only the rows for these paths (--only), given as typed (UTF-8). */
export function onlyPaths(paths: string[] | undefined): ((row: Row) => boolean) | undefined {
  if (!paths?.length) return undefined;
  const wanted = new Set(paths.map((p) => p.replace(/^\.\//, '')));
  return (row) => wanted.has(displayPath(row.path));
}

/** A path written for printf: every byte but [A-Za-z0-9._/-] as a \NNN octal escape, so any name fits on a line. */
export function escapePath(path: BytePath): string {
  let out = '';
  for (let i = 0; i < path.length; i++) out += /[A-Za-z0-9._/-]/.test(path[i]) ? path[i] : `\\${path.charCodeAt(i).toString(8).padStart(3, '0')}`;
  return out;
}

/** A task as a line of repair.sh: KIND HASH SIZE MTIME MODE PATH (MODE '-' when unknown), the path escaped. */
export function taskLine(task: RepairTask): string {
  return [task.kind, task.hash, task.size, task.mtime, task.mode ?? '-', escapePath(task.path)].join('\t');
}

/** One answer line of repair.sh. */
export type TaskAnswer = { index: number; status: 'copied' | 'replaced' | 'failed' | 'partial' | 'have'; bytes: number; detail: string };

/** Parse repair.sh's answer lines; anything else is ignored (it never echoes paths). */
export function parseAnswers(stdout: string): TaskAnswer[] {
  const out: TaskAnswer[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\d+)\t(copied|replaced|failed|partial|have)\t(\d+)\t(.*)$/.exec(line);
    if (m) out.push({ index: Number(m[1]), status: m[2] as TaskAnswer['status'], bytes: Number(m[3]), detail: m[4] });
  }
  return out;
}

/** How the bytes travel: the replica's host pulls from the source's, or they stream through this machine. */
export type Transfer = { mode: 'local' | 'pull' | 'controller'; reason: string };

/** The result of `images repair` (the --json document; DESIGN.md names copied, replaced, quarantine, source_rot, extra). */
export interface RepairResult {
  name: string;
  source: string; // where the copies came from (HOST:PATH or a local path)
  replica: string;
  hash: HashAlgo;
  dry_run: boolean;
  transfer?: Transfer;
  copied: string[];
  replaced: string[];
  quarantine: string; // this run's quarantine directory: where replaced files are kept (created only when one is)
  source_rot: string[];
  source_rot_replica_healthy: string[]; // of those, the ones whose replica copy has the source's last good hash
  extra: string[];
  failed: { path: string; why: string }[]; // partial copies are kept and resumed by the next repair
  skipped: { path: string; why: string }[];
  planned: { copy: number; replace: number; bytes: number };
  copied_bytes: number;
  duration_ms: number;
}

/** The planned counts and bytes. */
export function planTotals(plan: RepairPlan): RepairResult['planned'] {
  const copy = plan.tasks.filter((t) => t.kind === 'copy').length;
  return { copy, replace: plan.tasks.length - copy, bytes: plan.tasks.reduce((n, t) => n + t.size, 0) };
}

/** The result document once the answers are in (an empty answer list: the plan only, nothing done). */
export function buildRepairResult(run: { name: string; source?: string; replica?: string; hash: HashAlgo; plan: RepairPlan; answers: (TaskAnswer | undefined)[]; transfer?: Transfer; quarantine: string; dryRun: boolean; durationMs: number }): RepairResult {
  const { plan } = run;
  const byStatus = (s: TaskAnswer['status']) => plan.tasks.filter((_, i) => run.answers[i]?.status === s);
  const failed = plan.tasks.flatMap((t, i) => {
    const a = run.answers[i];
    if (run.dryRun || a?.status === 'copied' || a?.status === 'replaced') return [];
    return [{ path: displayPath(t.path), why: a ? a.detail || a.status : 'not attempted (an earlier step failed)' }];
  });
  const replaced = byStatus('replaced');
  return {
    name: run.name,
    source: run.source ?? '',
    replica: run.replica ?? '',
    hash: run.hash,
    dry_run: run.dryRun,
    ...(run.transfer ? { transfer: run.transfer } : {}),
    copied: byStatus('copied').map((t) => displayPath(t.path)),
    replaced: replaced.map((t) => displayPath(t.path)),
    quarantine: run.quarantine,
    source_rot: plan.sourceRot.map((r) => displayPath(r.path)),
    source_rot_replica_healthy: plan.sourceRot.filter((r) => r.replicaHealthy).map((r) => displayPath(r.path)),
    extra: plan.extra.map(displayPath),
    failed,
    skipped: plan.skipped.map((s) => ({ path: displayPath(s.path), why: s.why })),
    planned: planTotals(plan),
    copied_bytes: [...byStatus('copied'), ...replaced].reduce((n, t) => n + t.size, 0),
    duration_ms: run.durationMs,
  };
}

/** Exit code: 1 when a copy failed, 3 when rot on the source or an unreadable file is left for a person, else 0. */
export function repairExitCode(r: RepairResult): number {
  if (r.failed.length) return 1;
  return r.source_rot.length || r.skipped.length ? 3 : 0;
}
