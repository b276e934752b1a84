// The check that a step's declared inputs come from the earlier steps that make them (pure): a gate takes its proof
// from the step that proves, never from a value typed in the runbook or from a step that runs later.
import type { Action, StepSpec } from './types.js';

const FROM_STEP = /^\{\{\s*steps\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\s*\}\}$/;

/** What is wrong with the inputs `action` declares in step `step`, given the steps before it and the actions: one
 *  message per input, naming the step, the input and where it must come from (empty when all is well). */
export function inputProblems(step: StepSpec, action: Action | undefined, earlier: StepSpec[]): { input: string; message: string }[] {
  const problems: { input: string; message: string }[] = [];
  for (const [input, sources] of Object.entries(action?.inputs ?? {})) {
    const from = sources.map((s) => `${s.slice(0, s.lastIndexOf('.'))}'s ${s.slice(s.lastIndexOf('.') + 1)}`).join(' or ');
    const value = step.with?.[input];
    const problem = (what: string) => problems.push({ input, message: `step '${step.name}' (${step.action}) ${what}; it must come from an earlier step: ${from}` });
    if (value === undefined) {
      problem(`has no input '${input}'`);
      continue;
    }
    const m = typeof value === 'string' ? FROM_STEP.exec(value) : null;
    if (!m) {
      problem(`takes '${input}' from ${JSON.stringify(value)}, not from an earlier step's output`);
      continue;
    }
    const [, name, output] = m;
    const maker = earlier.find((s) => s.name === name);
    if (!maker) continue; // a step that runs later, or none: the check of every template says so
    if (!sources.includes(`${maker.action ?? 'shell'}.${output}`)) problem(`takes '${input}' from step '${name}' (${maker.action ?? 'shell'}'s ${output})`);
  }
  return problems;
}
