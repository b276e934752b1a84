import t from 'tap';
import { ConnectionPool } from '../../src/executor/pool.js';
import type { Inventory } from '../../src/inventory/types.js';
import { runRunbook } from '../../src/runbook/engine.js';
import { completedSteps, readJournal, runSummary } from '../../src/runbook/journal.js';
import { resolveTemplates } from '../../src/runbook/template.js';
import type { Action, Runbook } from '../../src/runbook/types.js';
import { tempDir } from '../fixtures/tmp.js';

t.test('templates', async (t) => {
  const values = { params: { n: 3, name: 'x' }, steps: { a: { id: 'b-1', list: [1, 2] } } };
  t.equal(resolveTemplates('{{params.n}}', values), 3, 'a whole template keeps its type');
  t.same(resolveTemplates({ l: '{{steps.a.list}}', s: 'id={{steps.a.id}}/{{params.name}}' }, values), { l: [1, 2], s: 'id=b-1/x' });
  t.throws(() => resolveTemplates('{{steps.zz.id}}', values), /has no value here/);
  t.equal(resolveTemplates('{{steps.zz.id}}', values, true), '<steps.zz.id>', 'lenient for plans');
});

t.test('a failure stops the run; --resume continues at the failed step with earlier outputs', async (t) => {
  process.env.IRONCLAD_STATE_DIR = tempDir('ironclad-runs-');
  let fail = true;
  const calls: string[] = [];
  const act = (name: string, fn: (p: Record<string, unknown>) => Record<string, unknown> | void): Action => ({ name, summary: name, describe: () => name, run: async (p) => (calls.push(`${name}:${JSON.stringify(p)}`), fn(p)) });
  const actions = new Map<string, Action>([
    ['make', act('make', () => ({ id: 'B42' }))],
    ['flaky', act('flaky', () => { if (fail) throw new Error('disk full'); })],
    ['use', act('use', (p) => ({ got: p.id }))],
  ]);
  const runbook: Runbook = { file: '/rb.yaml', version: 1, name: 'rb', description: 'test', params: {}, steps: [
    { name: 'one', action: 'make' },
    { name: 'two', action: 'flaky' },
    { name: 'three', action: 'use', with: { id: '{{steps.one.id}}' } },
  ] };
  const lines: string[] = [];
  const base = { runbook, actions, ctx: { inv: {} as Inventory, pool: new ConnectionPool(), flags: { yes: false, json: false } }, params: {}, dryRun: false, out: (l: string) => lines.push(l) };
  let told = '';
  t.equal(await runRunbook({ ...base, started: (id) => (told = id) }), 1);
  const runId = /run (\S+)/.exec(lines[0])![1];
  t.equal(told, runId, 'the run id told as soon as it is known');
  t.same(runSummary(runId, readJournal(runId), 1), { run: runId, runbook: 'rb', outcome: 'failed', code: 1, steps: [{ name: 'one', outcome: 'done', output: { id: 'B42' } }, { name: 'two', outcome: 'failed', error: 'disk full' }] }, "--json's document: each step's outcome, output or error");
  t.match(lines.join('\n'), /step 'two' FAILED: disk full[\s\S]*--resume /);
  t.same([...completedSteps(readJournal(runId)).keys()], ['one']);
  fail = false;
  calls.length = 0;
  t.equal(await runRunbook({ ...base, resume: runId }), 0);
  t.same(calls, ['flaky:{}', 'use:{"id":"B42"}'], 'step one not run again; its output still used');
  t.same(runSummary(runId, readJournal(runId), 0).steps.map((s) => `${s.name}:${s.outcome}`), ['one:done', 'two:done', 'three:done'], 'the latest outcome of each step');
});

t.test('a destructive step without a terminal and without --yes is refused (exit 3)', async (t) => {
  process.env.IRONCLAD_STATE_DIR = tempDir('ironclad-runs-');
  let ran = false;
  const actions = new Map<string, Action>([['boom', { name: 'boom', summary: '', destructive: true, describe: () => 'drop everything', run: async () => { ran = true; } }]]);
  const runbook: Runbook = { file: '/rb.yaml', version: 1, name: 'rb', description: 'test', params: {}, steps: [{ name: 'x', action: 'boom', with: { host: 'staging' } }] };
  const lines: string[] = [];
  const code = await runRunbook({ runbook, actions, ctx: { inv: {} as Inventory, pool: new ConnectionPool(), flags: { yes: false, json: false } }, params: {}, dryRun: false, out: (l) => lines.push(l) });
  t.equal(code, 3);
  t.notOk(ran);
  t.match(lines.join('\n'), /confirmation declined for destructive step 'x' \(type 'staging'/);
});

t.test('a failure runs the on_failure steps it names; the steps they undo run again on --resume, the guard always', async (t) => {
  process.env.IRONCLAD_STATE_DIR = tempDir('ironclad-runs-');
  let fail = true;
  const calls: string[] = [];
  const act = (name: string, fn: (p: Record<string, unknown>) => Record<string, unknown> | void, rerunOnResume = false): Action => ({ name, summary: name, rerunOnResume, describe: () => name, run: async (p) => (calls.push(`${name}:${JSON.stringify(p)}`), fn(p)) });
  const actions = new Map<string, Action>([
    ['guard', act('guard', () => ({ ok: true }), true)],
    ['make', act('make', () => ({ dir: '/x/B1' }))],
    ['scan', act('scan', () => { if (fail) throw new Error('personal data remains'); return { proof: 'p' }; })],
    ['discard', act('discard', () => undefined)],
  ]);
  const runbook: Runbook = { file: '/rb.yaml', version: 1, name: 'rb', description: 'test', params: {}, steps: [
    { name: 'guard', action: 'guard' },
    { name: 'copy', action: 'make' },
    { name: 'scan', action: 'scan' },
  ], on_failure: [
    { name: 'discard', action: 'discard', when: ['copy', 'scan'], undoes: ['copy', 'scan'], with: { dir: '{{steps.copy.dir}}', id: '{{steps.nothing.id}}' } },
  ] };
  const lines: string[] = [];
  const base = { runbook, actions, ctx: { inv: {} as Inventory, pool: new ConnectionPool(), flags: { yes: false, json: false } }, params: {}, dryRun: false, out: (l: string) => lines.push(l) };
  t.equal(await runRunbook(base), 1);
  const runId = /run (\S+)/.exec(lines[0])![1];
  t.same(calls, ['guard:{}', 'make:{}', 'scan:{}', 'discard:{"dir":"/x/B1"}'], 'the cleanup ran with what is known (a missing value is left out)');
  t.match(lines.join('\n'), /resume from 'copy'/, 'the operator is told where the run starts again');
  t.same([...completedSteps(readJournal(runId)).keys()], ['guard'], 'what the cleanup removed counts as not done');
  fail = false;
  calls.length = 0;
  t.equal(await runRunbook({ ...base, resume: runId }), 0);
  t.same(calls, ['guard:{}', 'make:{}', 'scan:{}'], 'the guard again, then the undone steps; no cleanup on success');
  calls.length = 0;
  t.equal(await runRunbook({ ...base, runbook: { ...runbook, steps: [{ name: 'guard', action: 'guard' }, { name: 'scan', action: 'scan' }] } }), 0);
  fail = true;
  calls.length = 0;
  const failedGuard = new Map(actions).set('guard', act('guard', () => { throw new Error('production'); }, true));
  t.equal(await runRunbook({ ...base, actions: failedGuard }), 1);
  t.same(calls, ['guard:{}'], 'a failure in a step no cleanup names runs none (nothing to clean on a refused target)');
});

t.test('a dry run names what the confirmation of each destructive step asks to type, and runs nothing', async (t) => {
  process.env.IRONCLAD_STATE_DIR = tempDir('ironclad-runs-');
  let ran = false;
  const actions = new Map<string, Action>([['swap', { name: 'swap', summary: '', destructive: true, describe: (p) => `swap on ${String(p.host)}`, run: async () => { ran = true; } }]]);
  const runbook: Runbook = { file: '/rb.yaml', version: 1, name: 'rb', description: 'test', params: { target: 'db-prod' }, steps: [
    { name: 'swap', action: 'swap', confirm: '{{params.target}}', with: { host: '{{params.target}}' } },
    { name: 'other', action: 'swap', with: { host: 'staging' } },
  ] };
  const lines: string[] = [];
  t.equal(await runRunbook({ runbook, actions, ctx: { inv: {} as Inventory, pool: new ConnectionPool(), flags: { yes: false, json: false } }, params: {}, dryRun: true, out: (l) => lines.push(l) }), 0);
  t.notOk(ran);
  t.match(lines.join('\n'), /1\. swap {2}\[destructive: needs confirmation\] \(type 'db-prod', or --yes\)\n {7}swap on db-prod/);
  t.match(lines.join('\n'), /2\. other {2}\[destructive: needs confirmation\] \(type 'staging', or --yes\)/, 'without confirm: the host');
});
