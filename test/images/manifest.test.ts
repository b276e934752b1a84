import t from 'tap';
import { displayPath, entryBatches, ManifestError, parseManifest, parseRecord } from '../../src/images/manifest.js';
import type { Entry } from '../../src/images/types.js';

const rec = (...fields: (string | number)[]) => fields.join('\t');

t.test('parseRecord: a table of records', async (t) => {
  const cases: { name: string; rec: string; want: Entry }[] = [
    {
      name: 'hashed',
      rec: rec('abc123', 5, '1700000000.5000000000', '1700000001.0', 42, 'a/b.jpg'),
      want: { path: 'a/b.jpg', size: 5, mtime: '1700000000.5000000000', digest: { kind: 'hashed', value: 'abc123' } },
    },
    { name: 'unhashed (sample)', rec: rec('-', 0, '1', '1', 1, 'x'), want: { path: 'x', size: 0, mtime: '1', digest: { kind: 'unhashed' } } },
    { name: 'unreadable', rec: rec('!', 7, '1', '1', 1, 'y'), want: { path: 'y', size: 7, mtime: '1', digest: { kind: 'unreadable' } } },
    { name: 'path with TABs and a newline', rec: rec('h', 1, '1', '1', 1, 'a\tb\nc\td'), want: { path: 'a\tb\nc\td', size: 1, mtime: '1', digest: { kind: 'hashed', value: 'h' } } },
    {
      name: 'rotten: NEW/GOOD',
      rec: rec('bad1/good2', 3, '1', '1', 1, 'r'),
      want: { path: 'r', size: 3, mtime: '1', digest: { kind: 'rotten', value: 'bad1', expected: 'good2' } },
    },
    { name: 'crc32 digits', rec: rec('3287646509', 5, '1', '1', 1, '10'), want: { path: '10', size: 5, mtime: '1', digest: { kind: 'hashed', value: '3287646509' } } },
    { name: 'bytes above 0x7f kept as latin1', rec: rec('h', 1, '1', '1', 1, '\xc3\xbc'), want: { path: '\xc3\xbc', size: 1, mtime: '1', digest: { kind: 'hashed', value: 'h' } } },
  ];
  for (const c of cases) t.same(parseRecord(c.rec), c.want, c.name);
});

t.test('parseRecord: malformed records are errors', async (t) => {
  for (const bad of ['', 'abc', rec('h', 1, '1', '1', 'p'), rec('h', 'x', '1', '1', 1, 'p'), rec('h', -1, '1', '1', 1, 'p'), rec('', 1, '1', '1', 1, 'p'), rec('h', 1, '1', '1', 1, '')])
    t.throws(() => parseRecord(bad), ManifestError, JSON.stringify(bad));
});

async function* chunks(...parts: Buffer[]) {
  yield* parts;
}

async function collect(it: AsyncIterable<Entry[]>): Promise<Entry[][]> {
  const out: Entry[][] = [];
  for await (const b of it) out.push(b);
  return out;
}

t.test('entryBatches: records split anywhere across chunks come out whole', async (t) => {
  const bytes = Buffer.from(`${rec('h1', 1, '1', '1', 1, 'a')}\0${rec('h2', 22, '2', '2', 2, 'b\nc')}\0${rec('h3', 3, '3', '3', 3, 'd')}\0`, 'latin1');
  for (let cut1 = 0; cut1 <= bytes.length; cut1 += 3)
    for (let cut2 = cut1; cut2 <= bytes.length; cut2 += 5) {
      const batches = await collect(entryBatches(chunks(bytes.subarray(0, cut1), bytes.subarray(cut1, cut2), bytes.subarray(cut2))));
      t.same(batches.flat().map((e) => [e.path, e.size]), [['a', 1], ['b\nc', 22], ['d', 3]], `cuts at ${cut1}, ${cut2}`);
      t.ok(batches.every((b) => b.length > 0), 'no empty batches');
    }
});

t.test('entryBatches: empty stream, truncated stream', async (t) => {
  t.same(await collect(entryBatches(chunks())), []);
  await t.rejects(collect(entryBatches(chunks(Buffer.from(`${rec('h', 1, '1', '1', 1, 'a')}\0${rec('h', 1, '1', '1', 1, 'b')}`)))), ManifestError);
});

t.test('parseManifest: a whole manifest at once, as entryBatches reads it; truncated is an error', async (t) => {
  const bytes = Buffer.from(`${rec('h1', 1, '1', '1', 1, 'a')}\0${rec('h2', 22, '2', '2', 2, '-b\\c\nd')}\0${rec('!', 3, '3', '3', 3, 'e')}\0`, 'latin1');
  const whole = parseManifest(bytes);
  t.same(whole, (await collect(entryBatches(chunks(bytes)))).flat());
  t.same(whole.map((e) => [e.path, e.size, e.digest.kind]), [['a', 1, 'hashed'], ['-b\\c\nd', 22, 'hashed'], ['e', 3, 'unreadable']]);
  t.same(parseManifest(Buffer.alloc(0)), []);
  t.throws(() => parseManifest(bytes.subarray(0, bytes.length - 1)), ManifestError, 'no NUL after the last record');
});

t.test('displayPath decodes the bytes as UTF-8', async (t) => {
  t.equal(displayPath(Buffer.from('ünï/名前.jpg').toString('latin1')), 'ünï/名前.jpg');
  t.equal(displayPath('latin-\xff.jpg'), 'latin-\ufffd.jpg');
});
