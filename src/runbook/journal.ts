// The journal of a run: one JSON line per event under the state directory, so a run can be shown and resumed.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../core/errors.js';
import type { JournalEntry } from './types.js';

/** Where runs are kept: $IRONCLAD_STATE_DIR, else ~/.local/state/ironclad. */
export function stateDir(): string {
  return process.env.IRONCLAD_STATE_DIR ?? join(homedir(), '.local', 'state', 'ironclad');
}

/** A new run id: sortable time plus a random suffix. */
export function newRunId(runbook: string): string {
  return `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${runbook}-${randomBytes(3).toString('hex')}`;
}

function runFile(runId: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(runId)) throw new UserError(`'${runId}' is not a run id`);
  return join(stateDir(), 'runs', `${runId}.jsonl`);
}

/** Append one entry. */
export function record(runId: string, entry: JournalEntry): void {
  mkdirSync(join(stateDir(), 'runs'), { recursive: true });
  appendFileSync(runFile(runId), JSON.stringify(entry) + '\n', { mode: 0o600 });
}

/** Every entry of a run; a missing run is a UserError. */
export function readJournal(runId: string): JournalEntry[] {
  const file = runFile(runId);
  if (!existsSync(file)) throw new UserError(`no run ${runId} in ${join(stateDir(), 'runs')}`, 'see `ironclad runbook list`');
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalEntry);
}

/** The steps a run finished, with their outputs (the latest entry of each step wins). */
export function completedSteps(entries: JournalEntry[]): Map<string, Record<string, unknown>> {
  const done = new Map<string, Record<string, unknown>>();
  for (const e of entries) if (e.kind === 'step') e.outcome === 'done' ? done.set(e.step, e.output) : done.delete(e.step);
  return done;
}

/** Recent runs, newest first, with their outcome. */
export function listRuns(): { runId: string; runbook: string; started: string; outcome: string; lastStep?: string }[] {
  let files: string[] = [];
  try {
    files = readdirSync(join(stateDir(), 'runs')).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return [];
  }
  return files
    .map((f) => {
      const entries = readJournal(f.replace(/\.jsonl$/, ''));
      const start = entries.find((e) => e.kind === 'run') as Extract<JournalEntry, { kind: 'run' }> | undefined;
      const end = [...entries].reverse().find((e) => e.kind === 'end') as Extract<JournalEntry, { kind: 'end' }> | undefined;
      const last = [...entries].reverse().find((e) => e.kind === 'step') as Extract<JournalEntry, { kind: 'step' }> | undefined;
      return { runId: f.replace(/\.jsonl$/, ''), runbook: start?.runbook ?? '?', started: start?.started ?? '?', outcome: end?.outcome ?? 'running or killed', lastStep: last ? `${last.step} (${last.outcome})` : undefined };
    })
    .sort((a, b) => b.runId.localeCompare(a.runId));
}

/** What `runbook run --json` prints at the end (pure, from a run's journal): the run, its outcome, and each step's
 *  latest outcome with its output (the report's fields, e.g. restore-production's `left_out`) or its error. */
export function runSummary(runId: string, entries: JournalEntry[], code: number): { run: string; runbook: string; outcome: string; code: number; steps: { name: string; outcome: string; output?: Record<string, unknown>; error?: string }[] } {
  const start = entries.find((e) => e.kind === 'run') as Extract<JournalEntry, { kind: 'run' }> | undefined;
  const end = [...entries].reverse().find((e) => e.kind === 'end') as Extract<JournalEntry, { kind: 'end' }> | undefined;
  const steps = new Map<string, Extract<JournalEntry, { kind: 'step' }>>();
  for (const e of entries) if (e.kind === 'step') steps.set(e.step, e);
  return {
    run: runId,
    runbook: start?.runbook ?? '?',
    outcome: end?.outcome ?? 'running or killed',
    code,
    steps: [...steps.values()].sort((a, b) => a.index - b.index).map((e) => ({ name: e.step, outcome: e.outcome, ...(e.outcome === 'done' ? { output: e.output } : {}), ...(e.error ? { error: e.error } : {}) })),
  };
}
