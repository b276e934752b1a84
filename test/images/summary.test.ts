import t from 'tap';
import { renderResult } from '../../src/images/render.js';
import { buildResult, compareExitCode, Tally } from '../../src/images/summary.js';
import type { Entry, Row } from '../../src/images/types.js';

const e = (path: string, size: number, mtime = '100.25'): Entry => ({ path, size, mtime, digest: { kind: 'hashed', value: 'h' } });
const pair = (path: string, s: number, r: number) => ({ path, source: e(path, s), replica: e(path, r) });

const rows: Row[] = [
  { status: 'equal', verified: true, ...pair('ok', 10, 10) },
  { status: 'equal', verified: false, ...pair('unsampled', 20, 20) },
  { status: 'equal', verified: true, path: 'touched', source: e('touched', 1, '100.9'), replica: e('touched', 1, '101.0') },
  { status: 'missing', path: 'gone', source: e('gone', 100) },
  { status: 'missing', path: 'gone2', source: e('gone2', 1) },
  { status: 'extra', path: 'new', replica: e('new', 7) },
  { status: 'size_mismatch', ...pair('short', 50, 5) },
  { status: 'content_mismatch', ...pair('r\xc3\xb6t', 30, 30) },
];

const run = { name: 'uploads', hash: 'sha256' as const, mode: { kind: 'cached' as const }, source: { location: 'app:/u' }, replica: { location: 'bk:/u' }, durationMs: 5 };

t.test('the tally counts files, bytes and problems per side', async (t) => {
  const tally = new Tally();
  rows.forEach((r) => tally.add(r));
  const result = buildResult(tally, run);
  t.match(result, {
    name: 'uploads',
    source: { files: 7, bytes: 10 + 20 + 1 + 100 + 1 + 50 + 30, location: 'app:/u' },
    replica: { files: 6, bytes: 10 + 20 + 1 + 7 + 5 + 30 },
    missing: ['gone', 'gone2'],
    extra: ['new'],
    size_mismatch: ['short'],
    content_mismatch: ['röt'],
    unreadable: [],
    equal: 3,
    unverified: 1,
    mtime_differs: 1,
    counts: { missing: 2, extra: 1, size_mismatch: 1, content_mismatch: 1, unreadable: 0 },
    problem_bytes: { missing: 101, extra: 7, size_mismatch: 50, content_mismatch: 30 },
    lists_complete: true,
  });
  t.equal(compareExitCode(result), 3);
});

t.test('lists are bounded for people, counts are not', async (t) => {
  const tally = new Tally(1);
  rows.forEach((r) => tally.add(r));
  const result = buildResult(tally, run);
  t.same(result.missing, ['gone']);
  t.equal(result.counts.missing, 2);
  t.equal(result.lists_complete, false);
  const text = renderResult(result);
  t.match(text, /missing on replica\s+2\s+101 B/);
  t.match(text, /missing on replica: gone\n/);
  t.match(text, /missing on replica: \.\.\. 1 more/);
  t.match(text, /content mismatch: röt/);
  t.match(text, /1 by size only/);
  t.match(text, /5 discrepancies; every row: --report FILE/);
});

t.test('exit code: 0 only when nothing differs and every directory was read', async (t) => {
  const clean = new Tally();
  clean.add(rows[0]);
  const result = buildResult(clean, run);
  t.equal(compareExitCode(result), 0);
  t.match(renderResult(result), /no discrepancies\n$/);
  const walked = buildResult(clean, { ...run, replica: { location: 'bk:/u', walk_errors: 2 } });
  t.equal(compareExitCode(walked), 3);
  t.match(renderResult(walked), /2 directories could not be read/);
});

t.test('names with control characters are shown escaped, one per line', async (t) => {
  const tally = new Tally();
  tally.add({ status: 'missing', path: 'a\nb', source: e('a\nb', 1) });
  t.match(renderResult(buildResult(tally, run)), /missing on replica: a\\nb\n/);
});
