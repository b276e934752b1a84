// Scrub rule files (schemas/scrub.schema.json) through checkFile: the reference passes, each invalid one at its expected places.
import t from 'tap';
import { basename, join } from 'node:path';
import { checkFile } from '../../src/inventory/load.js';
import { expectations, fixtures, key, yamlFiles } from '../fixtures/inventory/harness.js';

t.test('valid scrub files', async (t) => {
  for (const f of [join(fixtures, 'scrub', 'app.yaml'), join(fixtures, 'scrub', 'valid-minimal.yaml'), join(fixtures, 'inventory', 'valid', 'scrub', 'app.yaml')]) {
    const { data, problems } = checkFile(f, 'scrub');
    t.same(problems, [], `${basename(f)}: no problems`);
    t.ok(data, `${basename(f)}: data`);
  }
});

t.test('invalid scrub files: every problem at its place, nothing else', async (t) => {
  const files = yamlFiles(join(fixtures, 'scrub', 'invalid'));
  t.ok(files.length >= 5);
  for (const f of files) {
    const { problems } = checkFile(f, 'scrub');
    const expected = expectations(f);
    t.ok(expected.length > 0, `${basename(f)} has expectations`);
    t.same(problems.map(key).sort(), expected.map(key).sort(), `${basename(f)}: problems`);
    for (const e of expected) {
      const p = problems.find((x) => key(x) === key(e));
      if (p && e.phrase) t.match(p.message, e.phrase, `${basename(f)} ${e.path}: '${e.phrase}'`);
    }
  }
});

t.test('a scrub file that does not exist is one problem', async (t) => {
  const { data, problems } = checkFile(join(fixtures, 'scrub', 'nope.yaml'), 'scrub');
  t.equal(data, undefined);
  t.equal(problems.length, 1);
  t.match(problems[0], { line: 1, col: 1, path: '(file)', message: /does not exist/ });
});
