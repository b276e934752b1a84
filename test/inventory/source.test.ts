// YAML with positions: syntax errors at the right line with the field path where there is one; locate() for keys and values.
import t from 'tap';
import { parseSource } from '../../src/inventory/source.js';

const at = (text: string) => parseSource('x.yaml', text).problems.map((p) => `${p.line}:${p.col} ${p.path}`);

t.test('syntax errors point at the line to fix', async (t) => {
  const cases: [string, string, string[]][] = [
    ['unclosed flow list: at the [', 'a:\n  b: [1, 2\n  c: 3\n', ['2:6 a.b']],
    ['unclosed flow map: at the {', 'a:\n  b: {x: 1\n  c: 3\n', ['2:6 a.b']],
    ['unclosed double quote: at the quote', 'a:\n  b: "text\n  c: 3\n', ['2:6 a.b']],
    ['unclosed single quote: at the quote', "a:\n  b: 'text\n", ['2:6 a.b']],
    ['missing colon', 'a:\n  b 1\n  c: 2\n', ['2:3 (yaml)']],
    ['tab indentation', 'a:\n\tb: 1\n', ['2:1 (yaml)']],
    ['bad indentation', 'a:\n    b: 1\n   c: 2\n', ['3:1 (yaml)']],
    ['two documents', 'a: 1\n---\nb: 2\n', ['2:1 (yaml)']],
  ];
  for (const [what, text, expected] of cases) t.same(at(text), expected, what);
});

t.test('a repeated key is reported at its second occurrence with its path, and what it repeats', async (t) => {
  const cases: [string, string, string, RegExp][] = [
    ['hosts', 'hosts:\n  a:\n    x: 1\n  b: {}\n  a:\n    x: 2\n', '5:3 hosts.a', /host 'a' is defined twice \(first at line 2\)/],
    ['nested', 'hosts:\n  a:\n    port: 1\n    port: 2\n', '4:5 hosts.a.port', /'port' appears twice in hosts\.a \(first at line 3\)/],
    ['in a list item', 'l:\n  - n: 1\n    n: 2\n', '3:5 l[0].n', /'n' appears twice in l\[0\]/],
    ['flow map', 'a: {x: 1, x: 2}\n', '1:11 a.x', /'x' appears twice in a/],
    ['top level', 'a: 1\nb: 2\na: 3\n', '3:1 a', /'a' appears twice in \(top\) \(first at line 1\)/],
  ];
  for (const [what, text, where, message] of cases) {
    const { source, problems } = parseSource('x.yaml', text);
    t.same(problems.map((p) => `${p.line}:${p.col} ${p.path}`), [where], what);
    t.match(problems[0]?.message, message, `${what}: message`);
    t.not(source.data, undefined, `${what}: the document is still read, to report its other problems`);
  }
});

t.test('a repeated key resolves to its last occurrence, as in the data', async (t) => {
  const { source } = parseSource('x.yaml', 'hosts:\n  a:\n    x: 1\n  a:\n    x: 2\n');
  t.same(source.data, { hosts: { a: { x: 2 } } });
  t.same(source.locate(['hosts', 'a', 'x']), { line: 5, col: 8 });
});

t.test('locate: values, keys, list items and the nearest existing parent', async (t) => {
  const text = ['version: 1', 'hosts:', '  db:', '    tags: [a, b]', '    empty:', '    list:', '      - name: x', '        v: 2', ''].join('\n');
  const { source, problems } = parseSource('x.yaml', text);
  t.same(problems, []);
  const cases: [(string | number)[], boolean, string][] = [
    [['version'], false, '1:10'],
    [['version'], true, '1:1'],
    [['hosts', 'db'], true, '3:3'],
    [['hosts', 'db', 'tags', 1], false, '4:15'],
    [['hosts', 'db', 'empty'], false, '5:5'],
    [['hosts', 'db', 'list', 0, 'v'], false, '8:12'],
    [['hosts', 'db', 'list', 0], true, '7:9'],
    [['hosts', 'db', 'missing', 'deeper'], false, '4:5'],
    [[], false, '1:1'],
  ];
  for (const [path, key, where] of cases) {
    const { line, col } = source.locate(path, key);
    t.equal(`${line}:${col}`, where, `${JSON.stringify(path)}${key ? ' (key)' : ''}`);
  }
  t.same(source.problem(['hosts', 'db', 'tags', 1], 'bad'), { file: 'x.yaml', line: 4, col: 15, path: 'hosts.db.tags[1]', message: 'bad' });
});
