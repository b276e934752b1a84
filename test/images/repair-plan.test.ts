import t from 'tap';
import { buildRepairResult, emptyPlan, onlyPaths, parseAnswers, planRow, repairExitCode, taskLine, unsafePath } from '../../src/images/repair-plan.js';
import type { Digest, Entry, Row } from '../../src/images/types.js';

const h = (value: string): Digest => ({ kind: 'hashed', value });
const e = (path: string, digest: Digest = h('aa'), size = 3): Entry => ({ path, size, mtime: '1700000000.5', digest });

t.test('unsafePath: a table', async (t) => {
  const cases: [string, RegExp | undefined][] = [
    ['a/b.jpg', undefined],
    ['-dash', undefined],
    ['with space/..hidden', undefined],
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../x', /component/],
    ['a/../../x', /component/],
    ['a/./x', /component/],
    ['a//x', /component/],
    ['a/', /component/],
    ['.ironclad-quarantine/x', /quarantine/],
  ];
  for (const [path, want] of cases) want ? t.match(unsafePath(path), want, path) : t.equal(unsafePath(path), undefined, path);
});

t.test('planRow: what each verdict becomes', async (t) => {
  const plan = emptyPlan();
  const rows: Row[] = [
    { status: 'missing', path: 'm', source: e('m') },
    { status: 'size_mismatch', path: 's', source: e('s'), replica: e('s', h('bb'), 9) },
    { status: 'content_mismatch', path: 'c', source: e('c'), replica: e('c', h('bb')) },
    { status: 'extra', path: 'x', replica: e('x') },
    { status: 'source_rot', path: 'r1', source: e('r1', { kind: 'rotten', value: 'new', expected: 'good' }), replica: e('r1', h('good')) },
    { status: 'source_rot', path: 'r2', source: e('r2', { kind: 'rotten', value: 'new', expected: 'good' }), replica: e('r2', h('other')) },
    { status: 'source_rot', path: 'r3', source: e('r3', { kind: 'rotten', value: 'new', expected: 'good' }) },
    { status: 'unreadable', path: 'u', source: e('u', { kind: 'unreadable' }), replica: e('u') },
    { status: 'missing', path: 'n', source: e('n', { kind: 'unhashed' }) },
    { status: 'missing', path: '../evil', source: e('../evil') },
    { status: 'equal', verified: true, path: 'q', source: e('q'), replica: e('q') },
  ];
  for (const r of rows) planRow(plan, r);
  t.same(plan.tasks, [
    { kind: 'copy', path: 'm', hash: 'aa', size: 3, mtime: '1700000000.5' },
    { kind: 'replace', path: 's', hash: 'aa', size: 3, mtime: '1700000000.5' },
    { kind: 'replace', path: 'c', hash: 'aa', size: 3, mtime: '1700000000.5' },
  ]);
  t.same(plan.extra, ['x']);
  t.same(plan.sourceRot, [{ path: 'r1', replicaHealthy: true }, { path: 'r2', replicaHealthy: false }, { path: 'r3', replicaHealthy: false }]);
  t.same(plan.skipped.map((s) => s.path), ['u', 'n', '../evil']);
  t.match(plan.skipped[2].why, /refused/);
});

t.test('taskLine: the path as printf octal escapes; parseAnswers reads only answer lines', async (t) => {
  t.equal(taskLine({ kind: 'copy', path: "a b/\n'%\\\xff.jpg", hash: 'h', size: 1, mtime: '2' }), 'copy\th\t1\t2\t-\ta\\040b/\\012\\047\\045\\134\\377.jpg');
  t.equal(taskLine({ kind: 'replace', path: 'x', hash: 'h', size: 1, mtime: '2', mode: '4755' }), 'replace\th\t1\t2\t4755\tx', 'the mode as the source gave it');
  t.same(parseAnswers('0\tcopied\t5\t\nnoise\n2\tfailed\t0\twhy: it\tbroke\n'), [
    { index: 0, status: 'copied', bytes: 5, detail: '' },
    { index: 2, status: 'failed', bytes: 0, detail: 'why: it\tbroke' },
  ]);
});

t.test('onlyPaths and the result: exit 1 on a failed copy, 3 on rot left, else 0', async (t) => {
  const keep = onlyPaths(['./a', 'ü'])!;
  t.ok(keep({ status: 'missing', path: 'a', source: e('a') }));
  t.ok(keep({ status: 'missing', path: Buffer.from('ü').toString('latin1'), source: e('x') }));
  t.notOk(keep({ status: 'missing', path: 'b', source: e('b') }));
  t.equal(onlyPaths([]), undefined);
  const plan = emptyPlan();
  planRow(plan, { status: 'missing', path: 'm', source: e('m') });
  planRow(plan, { status: 'content_mismatch', path: 'c', source: e('c'), replica: e('c', h('b')) });
  const run = { name: 'n', hash: 'sha256' as const, plan, quarantine: 'h:/q', dryRun: false, durationMs: 1 };
  const ok = buildRepairResult({ ...run, answers: [{ index: 0, status: 'copied', bytes: 3, detail: '' }, { index: 1, status: 'replaced', bytes: 3, detail: '' }] });
  t.match(ok, { copied: ['m'], replaced: ['c'], quarantine: 'h:/q', failed: [], copied_bytes: 6, planned: { copy: 1, replace: 1, bytes: 6 } });
  t.equal(repairExitCode(ok), 0);
  const bad = buildRepairResult({ ...run, answers: [{ index: 0, status: 'partial', bytes: 1, detail: 'stopped' }] });
  t.match(bad, { copied: [], replaced: [], quarantine: 'h:/q', failed: [{ path: 'm', why: 'stopped' }, { path: 'c', why: /not attempted/ }] });
  t.equal(repairExitCode(bad), 1);
  planRow(plan, { status: 'source_rot', path: 'r', source: e('r', { kind: 'rotten', value: 'x', expected: 'y' }) });
  t.equal(repairExitCode(buildRepairResult({ ...run, answers: [{ index: 0, status: 'copied', bytes: 3, detail: '' }, { index: 1, status: 'copied', bytes: 3, detail: '' }] })), 3);
});
