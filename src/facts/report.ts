// The facts report of many hosts: the `--json` document and the exit code, from per-host outcomes.
import { mask } from '../core/secrets.js';
import type { FactName, FactProblem, FactValues, HostFacts } from './types.js';

/** One host in `ironclad facts --json`: its facts, or why they could not be gathered. */
export type HostFactsReport =
  | { host: string; ok: true; facts: Partial<FactValues>; absent: FactName[]; problems: FactProblem[] }
  | { host: string; ok: false; error: string };

/** The `ironclad facts --json` document. */
export interface FactsReport {
  hosts: HostFactsReport[];
}

/** A host's outcome as the executor's fan-out returns it. */
export type FactsOutcome = { host: string; ok: true; value: HostFacts } | { host: string; ok: false; error: Error };

/** The report of every host, in the given order; errors masked. */
export function factsReport(outcomes: FactsOutcome[]): FactsReport {
  return {
    hosts: outcomes.map((o): HostFactsReport => {
      if (!o.ok) return { host: o.host, ok: false, error: mask(o.error.message) };
      const { facts, absent, problems } = o.value;
      return { host: o.host, ok: true, facts, absent, problems };
    }),
  };
}

/** 1 when any host failed, else 0: a fact that could not be read is shown, not fatal. */
export function factsExitCode(report: FactsReport): number {
  return report.hosts.some((h) => !h.ok) ? 1 : 0;
}
