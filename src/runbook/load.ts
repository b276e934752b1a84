// Load a runbook file: schema, then rules (unique step names, known actions), every problem positioned.
import { resolve } from 'node:path';
import { InvalidInput, type Problem } from '../inventory/problems.js';
import { schemaProblems } from '../inventory/schema.js';
import { readSource } from '../inventory/source.js';
import type { Action, Runbook, StepSpec } from './types.js';

/** Parse and validate a runbook; throws InvalidInput (exit 2) listing every problem. */
export function loadRunbook(file: string, actions: Map<string, Action>): Runbook {
  const path = resolve(file);
  const { source, problems } = readSource(path);
  const all: Problem[] = [...problems];
  if (!problems.length) all.push(...schemaProblems('runbook', source));
  if (!all.length) {
    const seen = new Set<string>();
    (source.data as { steps: StepSpec[] }).steps.forEach((s, i) => {
      if (seen.has(s.name)) all.push(source.problem(['steps', i, 'name'], `step '${s.name}' is defined twice`));
      seen.add(s.name);
      if (Boolean(s.action) === Boolean(s.shell)) all.push(source.problem(['steps', i], 'a step is either an action (action: NAME, with: {...}) or shell on a host (shell: ..., host: NAME)'));
      else if (s.shell && !s.host) all.push(source.problem(['steps', i], "a shell step needs 'host:' (which host it runs on)"));
      if (s.action && !actions.has(s.action))
        all.push(source.problem(['steps', i, 'action'], `unknown action '${s.action}' (actions: ${[...actions.keys()].join(', ')})`));
    });
  }
  if (all.length) throw new InvalidInput(all);
  const data = source.data as Omit<Runbook, 'file'>;
  return { ...data, params: data.params ?? {}, file: path };
}
