// Load a runbook file: schema, then rules (unique step names, known actions, each step's inputs from earlier steps),
// every problem positioned.
import { resolve } from 'node:path';
import { InvalidInput, type Problem } from '../inventory/problems.js';
import { schemaProblems } from '../inventory/schema.js';
import { readSource } from '../inventory/source.js';
import { inputProblems } from './inputs.js';
import { stepsRead } from './template.js';
import type { Action, FailureStepSpec, Runbook, StepSpec } from './types.js';

/** Parse and validate a runbook; throws InvalidInput (exit 2) listing every problem. */
export function loadRunbook(file: string, actions: Map<string, Action>): Runbook {
  const path = resolve(file);
  const { source, problems } = readSource(path);
  const all: Problem[] = [...problems];
  if (!problems.length) all.push(...schemaProblems('runbook', source));
  if (!all.length) {
    const data = source.data as { steps: StepSpec[]; on_failure?: FailureStepSpec[] };
    const names = data.steps.map((s) => s.name);
    const seen = new Set<string>();
    const checkStep = (s: StepSpec, at: (string | number)[], earlier: string[]) => {
      // the inputs the action declares come from the earlier steps that make them (an on_failure step takes what exists)
      if (at[0] === 'steps')
        for (const p of inputProblems(s, actions.get(s.action ?? ''), data.steps.filter((e) => earlier.includes(e.name))))
          all.push(source.problem(s.with?.[p.input] !== undefined ? [...at, 'with', p.input] : s.with ? [...at, 'with'] : at, p.message));
      if (Boolean(s.action) === Boolean(s.shell)) all.push(source.problem(at, 'a step is either an action (action: NAME, with: {...}) or shell on a host (shell: ..., host: NAME)'));
      else if (s.shell && !s.host) all.push(source.problem(at, "a shell step needs 'host:' (which host it runs on)"));
      if (s.action && !actions.has(s.action)) all.push(source.problem([...at, 'action'], `unknown action '${s.action}' (actions: ${[...actions.keys()].join(', ')})`));
      // each input comes from a step that runs before this one
      for (const read of stepsRead([s.with, s.shell, s.host, s.confirm]))
        if (!earlier.includes(read)) all.push(source.problem(at, `reads {{steps.${read}...}}, but ${names.includes(read) ? `step '${read}' runs after this one` : `there is no step '${read}'`}`));
    };
    data.steps.forEach((s, i) => {
      if (seen.has(s.name)) all.push(source.problem(['steps', i, 'name'], `step '${s.name}' is defined twice`));
      seen.add(s.name);
      checkStep(s, ['steps', i], names.slice(0, i));
    });
    (data.on_failure ?? []).forEach((s, i) => {
      checkStep(s, ['on_failure', i], names);
      for (const [field, list] of [['when', s.when], ['undoes', s.undoes ?? []]] as const)
        list.forEach((n, j) => names.includes(n) || all.push(source.problem(['on_failure', i, field, j], `no step '${n}' (steps: ${names.join(', ')})`)));
    });
  }
  if (all.length) throw new InvalidInput(all);
  const data = source.data as Omit<Runbook, 'file'>;
  return { ...data, params: data.params ?? {}, file: path };
}
