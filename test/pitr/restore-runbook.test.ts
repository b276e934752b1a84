// runbooks/restore-production-pitr.yaml loads (schema, known actions, each input from an earlier step) with the
// point-in-time actions registered, and confirms both steps that act on the target by its typed name.
import t from 'tap';
import { fileURLToPath } from 'node:url';
import { ACTIONS } from '../../src/runbook/actions.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { PITR_RESTORE_ACTIONS } from '../../src/pitr/restore-actions.js';

const FILE = fileURLToPath(new URL('../../runbooks/restore-production-pitr.yaml', import.meta.url));

t.test('the runbook loads, and both acting steps are destructive with the target typed', async (t) => {
  const actions = new Map([...ACTIONS, ...PITR_RESTORE_ACTIONS.map((a) => [a.name, a] as const)]);
  const book = loadRunbook(FILE, actions);
  t.same(book.steps.map((s) => s.name), ['restore', 'swap']);
  for (const name of ['restore', 'swap']) {
    const step = book.steps.find((s) => s.name === name)!;
    t.equal(step.confirm, '{{params.target}}', `${name}: the target's name typed`);
    t.equal(actions.get(step.action!)!.destructive, true, `${name}: destructive`);
  }
  t.same(book.params, { source: 'db-prod', target: 'db-prod', time: 'latest', port: '' });
});
