import t from 'tap';
import { comparePair, diffSorted } from '../../src/images/diff.js';
import { ManifestError } from '../../src/images/manifest.js';
import type { Digest, Entry, Row, RowStatus } from '../../src/images/types.js';

const h = (value: string): Digest => ({ kind: 'hashed', value });
const rot = (value: string, expected: string): Digest => ({ kind: 'rotten', value, expected });
const e = (path: string, size = 1, digest: Digest = h('x'), mtime = '100.0'): Entry => ({ path, size, mtime, digest });

t.test('comparePair: a table of verdicts', async (t) => {
  const cases: { name: string; source: Entry; replica: Entry; want: RowStatus; verified?: boolean }[] = [
    { name: 'same size, same hash', source: e('p', 5, h('a')), replica: e('p', 5, h('a')), want: 'equal', verified: true },
    { name: 'same size, same hash, other mtime', source: e('p', 5, h('a'), '1'), replica: e('p', 5, h('a'), '2'), want: 'equal', verified: true },
    { name: 'bit rot: same size and mtime, other hash', source: e('p', 5, h('a')), replica: e('p', 5, h('b')), want: 'content_mismatch' },
    { name: 'stale: same size, other mtime and hash', source: e('p', 5, h('a'), '1'), replica: e('p', 5, h('b'), '2'), want: 'content_mismatch' },
    { name: 'size wins over hash', source: e('p', 5, h('a')), replica: e('p', 6, h('a')), want: 'size_mismatch' },
    { name: 'size mismatch even when unreadable', source: e('p', 5, { kind: 'unreadable' }), replica: e('p', 6), want: 'size_mismatch' },
    { name: 'unreadable on the replica', source: e('p', 5, h('a')), replica: e('p', 5, { kind: 'unreadable' }), want: 'unreadable' },
    { name: 'unreadable on the source', source: e('p', 5, { kind: 'unreadable' }), replica: e('p', 5, h('a')), want: 'unreadable' },
    { name: 'not sampled on one side: equal by size only', source: e('p', 5, { kind: 'unhashed' }), replica: e('p', 5, h('a')), want: 'equal', verified: false },
    { name: 'rot on the source: whatever the replica holds', source: e('p', 5, rot('b', 'a')), replica: e('p', 5, h('a')), want: 'source_rot' },
    { name: 'rot on the source wins over size', source: e('p', 5, rot('b', 'a')), replica: e('p', 9, h('a')), want: 'source_rot' },
    { name: 'rot on the replica: its new hash is compared', source: e('p', 5, h('a')), replica: e('p', 5, rot('b', 'a')), want: 'content_mismatch' },
    { name: 'rot on the replica healed to the source', source: e('p', 5, h('a')), replica: e('p', 5, rot('a', 'c')), want: 'equal', verified: true },
    { name: 'not sampled on both', source: e('p', 5, { kind: 'unhashed' }), replica: e('p', 5, { kind: 'unhashed' }), want: 'equal', verified: false },
  ];
  for (const c of cases) {
    const row = comparePair(c.source, c.replica);
    t.equal(row.status, c.want, c.name);
    if (row.status === 'equal') t.equal(row.verified, c.verified, `${c.name}: verified`);
  }
});

async function* batches(entries: Entry[], size: number) {
  for (let i = 0; i < entries.length; i += size) yield entries.slice(i, i + size);
}

async function diff(source: Entry[], replica: Entry[], sizes = [1, 1], out = 1024): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const b of diffSorted(batches(source, sizes[0]), batches(replica, sizes[1]), out)) rows.push(...b);
  return rows;
}

const summary = (rows: Row[]) => rows.map((r) => `${r.status}:${r.path}`);

t.test('diffSorted: a table of merges', async (t) => {
  const cases: { name: string; source: string[]; replica: string[]; want: string[] }[] = [
    { name: 'both empty', source: [], replica: [], want: [] },
    { name: 'replica empty', source: ['a', 'b'], replica: [], want: ['missing:a', 'missing:b'] },
    { name: 'source empty', source: [], replica: ['a'], want: ['extra:a'] },
    { name: 'interleaved', source: ['a', 'c', 'e'], replica: ['b', 'c', 'd', 'f'], want: ['missing:a', 'extra:b', 'equal:c', 'extra:d', 'missing:e', 'extra:f'] },
    { name: 'byte order: "10" < "9", "a" < "a\\tb" < "a b" < "ab" < "\\xc3"', source: ['10', '9', 'a', 'a\tb', 'a b', 'ab', '\xc3\xbc'], replica: ['10', '9', 'a', 'a\tb', 'a b', 'ab', '\xc3\xbc'], want: ['10', '9', 'a', 'a\tb', 'a b', 'ab', '\xc3\xbc'].map((p) => `equal:${p}`) },
    { name: 'a prefix of another path', source: ['a', 'a/b'], replica: ['a/b'], want: ['missing:a', 'equal:a/b'] },
  ];
  for (const c of cases)
    for (const sizes of [[1, 1], [2, 3], [100, 1]]) {
      const rows = await diff(c.source.map((p) => e(p)), c.replica.map((p) => e(p)), sizes, 2);
      t.same(summary(rows), c.want, `${c.name} (batches ${sizes})`);
    }
});

t.test('diffSorted: rows carry both entries', async (t) => {
  const [row] = await diff([e('p', 5, h('a'))], [e('p', 5, h('b'))]);
  t.match(row, { status: 'content_mismatch', source: { digest: { value: 'a' } }, replica: { digest: { value: 'b' } } });
});

t.test('diffSorted: an unsorted or duplicated side is an error, not a wrong answer', async (t) => {
  await t.rejects(diff([e('b'), e('a')], []), ManifestError);
  await t.rejects(diff([], [e('a'), e('a')]), ManifestError);
});

t.test('diffSorted: a large merge in batches', async (t) => {
  const names = Array.from({ length: 5000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
  const rows = await diff(names.map((p) => e(p)), names.filter((_, i) => i % 10).map((p) => e(p)), [333, 1000]);
  t.equal(rows.length, 5000);
  t.equal(rows.filter((r) => r.status === 'missing').length, 500);
});

t.test('diffSorted: a rotten source file the replica lacks is source_rot, never missing', async (t) => {
  const rows = await diff([e('a', 1, { kind: 'rotten', value: 'n', expected: 'o' }), e('b')], []);
  t.same(summary(rows), ['source_rot:a', 'missing:b']);
});
