// compareImages on real trees, both sides on this machine: as local paths, and through the host transport
// (gzipped manifest fetched through the connector), which is what an SSH side does.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { UserError } from '../../src/core/errors.js';
import { chooseAlgo, compareImages } from '../../src/images/compare.js';
import { remoteFileBytes, type Side } from '../../src/images/side.js';
import { compareExitCode } from '../../src/images/summary.js';
import { localConnector } from '../../src/connectors/local.js';
import { AWKWARD, flipBit, hostSide, localSide, replicaWithDiscrepancies, sourceTree } from './fixtures/trees.js';

const expected = {
  missing: ['photos/gone.jpg'],
  extra: ['photos/extra.jpg'],
  size_mismatch: ['photos/short.jpg'],
  content_mismatch: ['photos/rot.jpg', 'photos/stale.jpg'],
  unreadable: [],
  equal: AWKWARD.length + 2,
};

const transports: [string, typeof localSide][] = [
  ['local paths', localSide],
  ['host transport', hostSide],
];

for (const [what, side] of transports) {
  t.test(`${what}: every kind of discrepancy is found, the flipped bit included`, async (t) => {
    const dir = t.testdir();
    sourceTree(join(dir, 'src'));
    replicaWithDiscrepancies(join(dir, 'src'), join(dir, 'dst'));
    const req = { name: 'uploads', source: side('source', join(dir, 'src'), join(dir, 'cache')), replica: side('replica', join(dir, 'dst'), join(dir, 'cache')), hash: 'sha256' as const, mode: { kind: 'cached' as const } };
    const first = await compareImages({ ...req, reportFile: join(dir, 'report.tsv') });
    t.match(first, { name: 'uploads', ...expected, source: { files: AWKWARD.length + 6, hashed: AWKWARD.length + 6 }, replica: { files: AWKWARD.length + 6 } });
    t.same(first.content_mismatch, expected.content_mismatch);
    t.equal(first.counts.content_mismatch, 2);
    t.equal(first.problem_bytes.content_mismatch, 64 * 1024 + 'version 1'.length);
    t.equal(first.hash, 'sha256');
    t.equal(compareExitCode(first), 3);
    const rows = readFileSync(join(dir, 'report.tsv'), 'latin1').trimEnd().split('\n');
    t.equal(rows.length, 1 + AWKWARD.length + 7, 'the report has a header and every row (both sides, once)');
    t.ok(rows.some((r) => r.startsWith('content_mismatch\tphotos/rot.jpg\t65536\t65536\t')));
    t.ok(rows.some((r) => r.startsWith('equal\tnew\\nline.jpg\t')), 'names are escaped in the report');
    t.same(readdirSync(join(dir, 'cache')).filter((f) => /manifest|progress|work/.test(f)), [], 'the run leaves only caches behind');

    const again = await compareImages(req);
    t.match(again, { ...expected, source: { hashed: 0, cached: AWKWARD.length + 6 }, replica: { hashed: 0 } }, 'a re-run hashes nothing and finds the same');
  });
}

t.test('bit rot that happens after the cache was made: found by --rehash and by a 100% sample', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'src'));
  replicaWithDiscrepancies(join(dir, 'src'), join(dir, 'dst'));
  const req = { name: 'x', source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')), hash: 'sha256' as const };
  await compareImages({ ...req, mode: { kind: 'cached' } });
  flipBit(join(dir, 'dst', 'photos/same.jpg'), 10, 0);
  const rehash = await compareImages({ ...req, mode: { kind: 'rehash' } });
  t.ok(rehash.content_mismatch.includes('photos/same.jpg'), '--rehash');
  t.equal(rehash.source.hashed, rehash.source.files);
  const sample = await compareImages({ ...req, mode: { kind: 'sample', percent: 100, seed: 1 } });
  t.ok(sample.content_mismatch.includes('photos/same.jpg'), '--sample 100');
  t.equal(sample.unverified, 0);
});

for (const [what, side] of transports) {
  t.test(`${what}: rot on the source after a first compare is source_rot, this time and every time after`, async (t) => {
    const dir = t.testdir();
    sourceTree(join(dir, 'src'));
    execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
    const req = { name: 'x', source: side('source', join(dir, 'src'), join(dir, 'c')), replica: side('replica', join(dir, 'dst'), join(dir, 'c')), hash: 'sha256' as const, mode: { kind: 'cached' as const } };
    t.match(await compareImages(req), { equal: AWKWARD.length + 6, source_rot: [] });
    flipBit(join(dir, 'src', 'photos/same.jpg'), 20, 1); // in place: same size, mtime put back, same inode
    const first = await compareImages(req);
    t.match(first, { source_rot: ['photos/same.jpg'], content_mismatch: [], missing: [], source: { rot_found: 1, hashed: 1 } });
    t.equal(compareExitCode(first), 3);
    const again = await compareImages(req);
    t.match(again, { source_rot: ['photos/same.jpg'], source: { rot_found: 0, hashed: 0 } }, 'the cache remembers the rot');
    t.match(await compareImages({ ...req, mode: { kind: 'rehash' } }), { source_rot: ['photos/same.jpg'] }, 'and so does a rehash');
    flipBit(join(dir, 'src', 'photos/same.jpg'), 20, 1); // healed (say, restored from the replica in place)
    t.match(await compareImages(req), { source_rot: [], content_mismatch: [], equal: AWKWARD.length + 6 }, 'back to its good hash: healed');
  });
}

t.test('a written file (new mtime or new inode) is not rot, and the repair\'s leftovers are not part of a tree', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  const req = { name: 'x', source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')), hash: 'sha256' as const, mode: { kind: 'cached' as const } };
  await compareImages(req);
  execFileSync('sh', ['-c', 'cd "$1" && echo v2 >photos/stale.jpg && cp -p photos/same.jpg x && head -c 3000 /dev/zero >x && touch -r photos/same.jpg x && mv x photos/same.jpg', 'sh', join(dir, 'src')]);
  execFileSync('sh', ['-c', 'cd "$1" && mkdir -p .ironclad-quarantine/r1/photos && echo q >.ironclad-quarantine/r1/photos/a && echo p >photos/.ironclad-sha256-ab.part', 'sh', join(dir, 'dst')]);
  const r = await compareImages(req);
  t.match(r, { source_rot: [], extra: [], size_mismatch: ['photos/stale.jpg'], content_mismatch: ['photos/same.jpg'] });
});

t.test('equal trees (local against host transport, --hash fast): exit 0', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'a'));
  const copy = join(dir, 'b');
  execFileSync('cp', ['-a', join(dir, 'a'), copy]);
  const req = { name: 'same', source: localSide('source', join(dir, 'a'), join(dir, 'c')), replica: hostSide('replica', copy, join(dir, 'c')), mode: { kind: 'cached' as const } };
  const r = await compareImages({ ...req, hash: 'fast' });
  t.match(r, { missing: [], extra: [], size_mismatch: [], content_mismatch: [], equal: AWKWARD.length + 6, mtime_differs: 0 });
  t.ok(r.hash === 'crc32' || r.hash === 'xxh128', r.hash);
  t.equal(compareExitCode(r), 0);
});

t.test('a missing side is bad input, found before any hashing', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'a'));
  const req = { name: 'x', hash: 'sha256' as const, mode: { kind: 'cached' as const } };
  await t.rejects(compareImages({ ...req, source: localSide('source', join(dir, 'a'), join(dir, 'c')), replica: hostSide('replica', join(dir, 'nope'), join(dir, 'c')) }), UserError);
  t.notOk(existsSync(join(dir, 'c')), 'neither side was scanned');
});

t.test('chooseAlgo: a table', async (t) => {
  t.equal(chooseAlgo('sha256', ['sha256', 'crc32'], ['sha256']), 'sha256');
  t.equal(chooseAlgo('fast', ['sha256', 'xxh128', 'crc32'], ['sha256', 'xxh128', 'crc32']), 'xxh128');
  t.equal(chooseAlgo('fast', ['sha256', 'xxh128', 'crc32'], ['sha256', 'crc32']), 'crc32', 'xxh128 only when both sides have it');
  t.equal(chooseAlgo('fast', ['sha256'], ['sha256']), 'sha256');
  t.equal(chooseAlgo('crypto', ['sha256', 'blake3'], ['sha256', 'blake3']), 'blake3', 'crypto: BLAKE3 where both have b3sum');
  t.equal(chooseAlgo('crypto', ['sha256', 'blake3'], ['sha256']), 'sha256', 'else SHA-256');
  t.equal(chooseAlgo('sha256', ['sha256', 'blake3'], ['sha256', 'blake3']), 'sha256');
  t.throws(() => chooseAlgo('blake3', ['sha256', 'blake3'], ['sha256']), /no blake3 hash tool/);
  t.throws(() => chooseAlgo('sha256', ['crc32'], ['sha256']), /no sha256 hash tool/);
});

t.test('remoteFileBytes reads a file in pieces through run()', async (t) => {
  const dir = t.testdir({ f: Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)) });
  const pieces: Buffer[] = [];
  for await (const p of remoteFileBytes(localConnector(), join(dir, 'f'), 300)) pieces.push(p);
  t.same(pieces.map((p) => p.length), [300, 300, 300, 100]);
  t.same(Buffer.concat(pieces), readFileSync(join(dir, 'f')));
  const exact: Buffer[] = [];
  for await (const p of remoteFileBytes(localConnector(), join(dir, 'f'), 500)) exact.push(p);
  t.same(exact.map((p) => p.length), [500, 500]);
  await t.rejects(async () => {
    for await (const _ of remoteFileBytes(localConnector(), join(dir, 'nope'))) void _;
  }, /cannot read/);
});

t.test('sides are scanned in parallel', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'a'));
  sourceTree(join(dir, 'b'));
  let running = 0;
  let most = 0;
  const slow = (side: Side): Side => ({
    ...side,
    connector: {
      ...side.connector,
      async run(script, opts) {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 50));
        try {
          return await side.connector.run(script, opts);
        } finally {
          running--;
        }
      },
    },
  });
  await compareImages({ name: 'p', source: slow(localSide('source', join(dir, 'a'), join(dir, 'c'))), replica: slow(localSide('replica', join(dir, 'b'), join(dir, 'c'))), hash: 'sha256', mode: { kind: 'cached' } });
  t.equal(most, 2);
});
