// Field paths and problem lines: formatPath, formatProblem, sortProblems and the InvalidInput error.
import t from 'tap';
import { UserError } from '../../src/core/errors.js';
import { formatPath, formatProblem, InvalidInput, sortProblems, type PathSegment, type Problem } from '../../src/inventory/problems.js';

t.test('formatPath', async (t) => {
  const cases: [PathSegment[], string][] = [
    [[], '(top)'],
    [['version'], 'version'],
    [['hosts', 'db-prod', 'postgres', 'port'], 'hosts.db-prod.postgres.port'],
    [['hosts', 'db-prod', 'postgres', 'roles', 0, 'password'], 'hosts.db-prod.postgres.roles[0].password'],
    [['images', 1, 'source', 'host'], 'images[1].source.host'],
    [[0], '[0]'],
    [['tags', 0, 1], 'tags[0][1]'],
    [['settings', 'auto_explain.log_analyze'], 'settings."auto_explain.log_analyze"'],
    [['hosts', 'db prod'], 'hosts."db prod"'],
    [['hosts', ''], 'hosts.""'],
  ];
  for (const [segments, text] of cases) t.equal(formatPath(segments), text, JSON.stringify(segments));
});

const p = (file: string, line: number, col: number, path = 'x', message = 'bad'): Problem => ({ file, line, col, path, message });

t.test('formatProblem uses the contract: FILE:LINE:COL  path: message', async (t) => {
  t.equal(formatProblem(p('inv.yaml', 12, 7, 'hosts.db-prod.postgres.port', 'out of range')), 'inv.yaml:12:7  hosts.db-prod.postgres.port: out of range');
});

t.test('sortProblems orders by file, line, column and drops exact repeats', async (t) => {
  const sorted = sortProblems([p('b.yaml', 1, 1), p('a.yaml', 9, 1), p('a.yaml', 2, 5), p('a.yaml', 2, 3), p('a.yaml', 2, 3)]);
  t.same(
    sorted.map((x) => `${x.file}:${x.line}:${x.col}`),
    ['a.yaml:2:3', 'a.yaml:2:5', 'a.yaml:9:1', 'b.yaml:1:1'],
  );
});

t.test('InvalidInput is a UserError (exit 2) listing every problem', async (t) => {
  const e = new InvalidInput([p('a.yaml', 3, 1, 'version', 'must be 1'), p('a.yaml', 1, 1, 'hosts', 'missing')]);
  t.ok(e instanceof UserError);
  t.equal(e.exitCode, 2);
  t.equal(e.message, '2 problems found:\na.yaml:1:1  hosts: missing\na.yaml:3:1  version: must be 1');
  t.equal(new InvalidInput([p('a.yaml', 1, 1)]).message.split('\n')[0], '1 problem found:');
});
