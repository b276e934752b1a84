import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import type { Inventory } from '../../../src/inventory/types.js';
import { defineAction, flag, optNumber, optText, text } from '../../../src/runbook/actions/define.js';
import type { ActionContext } from '../../../src/runbook/types.js';

const ctx = { inv: {} as Inventory, runId: 'r1', values: {}, flags: { yes: false, json: false }, log: () => undefined } as unknown as ActionContext;

t.test("an action's parameters are parsed once per use, into the input both its plan and its run see", async (t) => {
  const parsed: unknown[] = [];
  const action = defineAction({
    name: 'x.y',
    summary: 'x',
    parse: (p) => (parsed.push(p), { n: optNumber(p, 'n') ?? 0, name: text(p, 'name'), kept: flag(p, 'keep') }),
    describe: (i) => `${i.name} x${i.n}${i.kept ? ' kept' : ''}`,
    run: async (i) => ({ twice: i.n * 2 }),
  });
  t.equal(action.describe({ n: '3', name: 'a', keep: 'true' }, ctx), 'a x3 kept');
  t.same(await action.run({ n: 4, name: 'b' }, ctx), { twice: 8 });
  t.equal(parsed.length, 2);
  t.throws(() => action.describe({ n: 1 }, ctx), /this step needs 'name'/, 'a missing input is a user error');
});

t.test('parameter readers', async (t) => {
  t.equal(optText({ a: null }, 'a'), undefined);
  t.equal(optText({ a: 5 }, 'a'), '5');
  t.equal(flag({ k: 'true' }, 'k'), true);
  t.equal(flag({ k: 'yes' }, 'k'), false);
  t.equal(optNumber({}, 'j'), undefined);
});

t.test('no file of the refresh or the restore imports the runbook (its actions adapt them, not the other way round)', async (t) => {
  for (const room of ['refresh', 'restore']) {
    const dir = new URL(`../../../src/${room}/`, import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    t.ok(files.length > 3, `src/${room}/ read`);
    for (const f of files) t.notMatch(readFileSync(new URL(f, dir), 'utf8'), /from '\.\.\/runbook\//, `src/${room}/${f}`);
  }
});
