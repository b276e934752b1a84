// Unit tests of the e2e queues: balanced by known durations (longest first into the emptier queue), every file once;
// and the line prefixing that keeps two interleaved outputs readable.
import t from 'tap';
import { balanceQueues, E2E_SECONDS, failureDigest, lineSplitter } from '../../src/lab/queues.js';

const KNOWN = E2E_SECONDS;

t.test('the known e2e files split into two queues within one file of each other, each file once', async (t) => {
  const files = Object.keys(KNOWN).sort();
  const [a, b] = balanceQueues(files, (f) => KNOWN[f]);
  t.same([a!.slot, b!.slot], [1, 2], 'queue i runs on lab slot i + 1');
  t.same([...a!.files, ...b!.files].sort(), files, 'every file in exactly one queue');
  t.equal(a!.seconds + b!.seconds, Object.values(KNOWN).reduce((x, y) => x + y, 0), 'the sum of the known times');
  t.ok(Math.abs(a!.seconds - b!.seconds) <= 10, `balanced: ${a!.seconds} s and ${b!.seconds} s (the shortest file is 10 s)`);
  const longest = files.sort((x, y) => KNOWN[y]! - KNOWN[x]!);
  t.same([a!.files[0], b!.files[0]], longest.slice(0, 2), 'longest first: the longest file opens queue 1, the next queue 2');
  for (const q of [a!, b!]) t.same(q.files.map((f) => KNOWN[f]), [...q.files.map((f) => KNOWN[f]!)].sort((x, y) => y - x), `queue ${q.slot} runs longest first`);
});

t.test('unknown files count as the default, ties go to the lower slot, extra queues stay empty', async (t) => {
  t.same(balanceQueues(['x', 'y', 'z'], () => undefined), [
    { slot: 1, files: ['x', 'z'], seconds: 120 },
    { slot: 2, files: ['y'], seconds: 60 },
  ]);
  t.same(balanceQueues(['only'], () => 5, 3).map((q) => q.files), [['only'], [], []]);
  t.same(balanceQueues([], () => 5), [{ slot: 1, files: [], seconds: 0 }, { slot: 2, files: [], seconds: 0 }]);
});

t.test('output lines are prefixed whole, even when a line arrives in pieces', async (t) => {
  const out: string[] = [];
  const s = lineSplitter('[lab 2] ', (l) => out.push(l));
  s.push('ok 1 - a\nok 2');
  s.push(' - b\n\nnot ok');
  t.same(out, ['[lab 2] ok 1 - a', '[lab 2] ok 2 - b', '[lab 2] ']);
  s.end();
  t.same(out.at(-1), '[lab 2] not ok', 'the last partial line at the end');
  s.end();
  t.equal(out.length, 4, 'nothing twice');
});

t.test('the failures digest: every not-ok line at any depth with its diagnostic block, cut short; nothing of what passed', async (t) => {
  const d = failureDigest(3, 30);
  const tap = [
    '# Subtest: a', '    ok 1 - fine', '    not ok 2 - the store did not commit', '      ---', '      at: x.ts:129', '      source: >2',
    '        t.equal(again.code, 0)', '      ...', '    ok 3 - fine too', 'not ok 1 - test/e2e/backup.test.ts', '  ---', '  found: 1',
    '  ...', 'ok 2 - ' + 'y'.repeat(50), 'not ok 3 - ' + 'z'.repeat(50), 'ok 4 - after',
  ];
  for (const l of tap) d.push(l);
  t.same(d.lines(), [
    '    not ok 2 - the store did n', '      ---', '      at: x.ts:129', '      source: >2',
    'not ok 1 - test/e2e/backup.tes', '  ---', '  found: 1',
    'not ok 3 - ' + 'z'.repeat(19),
  ]);
  t.same(failureDigest().lines(), [], 'nothing when nothing failed');
});
