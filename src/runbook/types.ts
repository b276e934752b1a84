// Runbooks: YAML steps (built-in actions or shell on a host), run with a journal so a failed or interrupted run resumes.
import type { ConnectionPool } from '../executor/pool.js';
import type { Inventory } from '../inventory/types.js';

export interface StepSpec {
  name: string;
  description?: string;
  action?: string;
  with?: Record<string, unknown>;
  shell?: string;
  host?: string;
  destructive?: boolean;
  confirm?: string;
}

/** A step run when the run fails or is interrupted in one of the steps `when` names; the steps it `undoes` count as
 *  not done afterwards, so that --resume runs them again (what they made is gone). */
export interface FailureStepSpec extends StepSpec {
  when: string[];
  undoes?: string[];
}

export interface Runbook {
  file: string;
  version: 1;
  name: string;
  description: string;
  params: Record<string, string | number | boolean | null>;
  steps: StepSpec[];
  on_failure?: FailureStepSpec[];
}

/** What an action sees: the inventory, connections, the run's values (params and earlier steps' outputs). */
export interface ActionContext {
  inv: Inventory;
  pool: ConnectionPool;
  runId: string;
  values: Record<string, unknown>;
  flags: { yes: boolean; json: boolean };
  /** A line of progress for the operator (and the journal's output tail). */
  log(line: string): void;
}

/** A built-in action: pure description for plans, and the work itself. Outputs become `steps.<name>.<key>`. */
export interface Action {
  name: string;
  summary: string;
  /** Destructive actions need confirmation (typing the target host's name, or --yes). */
  destructive?: boolean;
  /** Run again on --resume even when a run already did it (a guard: what it checked may have changed since). */
  rerunOnResume?: boolean;
  /** The inputs a step of this action takes from an earlier step's output, by parameter: the outputs that may supply
   *  each, as `action.output` (the swap's proof: `refresh.pii_scan.proof`). Loading a runbook checks them, so that the
   *  steps' order is what a gate relies on, never a value typed in the file. */
  inputs?: Record<string, string[]>;
  describe(params: Record<string, unknown>, ctx: ActionContext): string;
  run(params: Record<string, unknown>, ctx: ActionContext): Promise<Record<string, unknown> | void>;
}

export type StepOutcome = 'done' | 'failed' | 'skipped' | 'interrupted' | 'undone';

/** One line of a run's journal. */
export type JournalEntry =
  | { kind: 'run'; runId: string; runbook: string; file: string; params: Record<string, unknown>; started: string }
  | { kind: 'step'; step: string; index: number; start: string; end: string; outcome: StepOutcome; output: Record<string, unknown>; tail: string[]; error?: string }
  | { kind: 'end'; outcome: 'done' | 'failed' | 'interrupted'; at: string };
