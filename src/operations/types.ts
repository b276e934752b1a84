// What operations return: changes with a description, an optional diff, and the commands that make them.
import type { Command } from '../core/command.js';

/** One change `apply` would make on a host. */
export interface Change {
  operation: string;
  description: string;
  diff?: string;
  commands: Command[];
  /** The change takes effect only after a restart of the server (needs confirmation). */
  restart?: boolean;
  /** For a restart that is not confirmed: what still runs (a reload, so the server reports the pending restart). */
  unconfirmed?: Command[];
}

/** A reason not to touch a host at all (exit 3): data would be lost or the host is not what we think. */
export interface Refusal {
  operation: string;
  message: string;
}

export type PlanStep = { kind: 'change'; change: Change } | { kind: 'refusal'; refusal: Refusal };
