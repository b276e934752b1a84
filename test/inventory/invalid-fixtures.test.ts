// Every invalid inventory under test/fixtures/inventory/invalid: exit 2 from the real CLI, every problem at the
// line, column and field path its `# expect:` header names, and nothing else; no stack trace.
import t from 'tap';
import { availableParallelism } from 'node:os';
import { basename, relative } from 'node:path';
import { validateInventory } from '../../src/inventory/load.js';
import { expectations, hasStackTrace, invalidDir, key, mapBounded, parseProblemLines, repoRoot, runCli, yamlFiles } from '../fixtures/inventory/harness.js';

const files = yamlFiles(invalidDir);

t.test('there are enough invalid fixtures, each with its expectations', async (t) => {
  t.ok(files.length >= 30, `${files.length} invalid fixtures`);
  for (const f of files) t.ok(expectations(f).length > 0, `${basename(f)} has # expect: lines`);
});

t.test('the CLI rejects each invalid fixture with exit 2, at the expected places', async (t) => {
  const runs = await mapBounded(files, Math.max(2, availableParallelism()), (f) => runCli(['-i', relative(repoRoot, f), 'validate']));
  files.forEach((f, i) => {
    const { code, stdout, stderr } = runs[i];
    t.test(basename(f), async (t) => {
      t.equal(code, 2, 'exit 2 (bad input)');
      t.equal(stdout, '', 'nothing on stdout');
      t.notOk(hasStackTrace(stderr), 'no stack trace');
      const reported = parseProblemLines(stderr);
      const expected = expectations(f);
      t.same(reported.map(key).sort(), expected.map(key).sort(), 'problems at the expected FILE:LINE:COL path, and no others');
      for (const e of expected) {
        const p = reported.find((r) => key(r) === key(e));
        if (p && e.phrase) t.match(p.message, e.phrase, `${e.path}: message says '${e.phrase}'`);
      }
      t.match(stderr, new RegExp(`\\n${reported.length} problems? in `), 'a summary line counts them');
    });
  });
});

t.test('the library reports exactly what the CLI reports', async (t) => {
  for (const f of files) {
    const { inventory, problems } = validateInventory(f);
    t.equal(inventory, undefined, `${basename(f)}: no inventory`);
    t.same(problems.map(key).sort(), expectations(f).map(key).sort(), `${basename(f)}: same problems`);
  }
});

t.test('a file with many problems gets all of them at once', async (t) => {
  const f = files.find((x) => basename(x) === 'many-problems.yaml')!;
  const expected = expectations(f);
  t.ok(expected.length >= 5, `${expected.length} problems expected`);
  const { code, stderr } = await runCli(['-i', relative(repoRoot, f), 'validate']);
  t.equal(code, 2);
  t.equal(parseProblemLines(stderr).length, expected.length, 'every problem listed');
  t.match(stderr, `${expected.length} problems in`);
  const kinds = ['out of range', 'managed by ironclad', 'plain-text secret', 'not a role', 'not in this inventory', 'not a schedule', 'already used', 'unknown field', 'absolute path'];
  for (const k of kinds) t.match(stderr, k, `schema and rule problems together: '${k}'`);
});

t.test('--json: the same problems as one document, still exit 2', async (t) => {
  for (const name of ['duplicate-host.yaml', 'yaml-unclosed-bracket.yaml', 'refresh-production-target.yaml', 'invalid-scrub-file.yaml', 'many-problems.yaml']) {
    const f = files.find((x) => basename(x) === name)!;
    const { code, stdout, stderr } = await runCli(['-i', relative(repoRoot, f), '--json', 'validate']);
    t.equal(code, 2, `${name}: exit 2`);
    t.notOk(hasStackTrace(stderr), `${name}: no stack trace`);
    const doc = JSON.parse(stdout);
    t.equal(doc.ok, false);
    t.same(doc.problems.map(key).sort(), expectations(f).map(key).sort(), `${name}: problems in the JSON`);
  }
});

t.test('a plain-text password in the inventory is never echoed back', async (t) => {
  const f = files.find((x) => basename(x) === 'secret-plain-password.yaml')!;
  const human = await runCli(['-i', relative(repoRoot, f), 'validate']);
  const json = await runCli(['-i', relative(repoRoot, f), '--json', 'validate']);
  t.notMatch(human.stderr + human.stdout, 'hunter2-do-not-print');
  t.notMatch(json.stderr + json.stdout, 'hunter2-do-not-print');
});

t.test('an inventory that does not exist: exit 2, one clear problem', async (t) => {
  const { code, stderr } = await runCli(['-i', 'test/fixtures/inventory/no-such-inventory.yaml', 'validate']);
  t.equal(code, 2);
  t.notOk(hasStackTrace(stderr));
  const problems = parseProblemLines(stderr);
  t.equal(problems.length, 1);
  t.match(problems[0].message, /does not exist/);
  t.match(problems[0].message, /-i FILE/);
});
