// The host script run for real on trees in a temporary directory: manifests, the cache, --rehash, --sample, resume.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { entryBatches } from '../../src/images/manifest.js';
import { parseProbe, parseScanStats, scanScript } from '../../src/images/script.js';
import type { Entry, ScanStats } from '../../src/images/types.js';
import { AWKWARD, NON_UTF8, sourceTree, writeTree } from './fixtures/trees.js';

type Args = Record<string, string | number>;

/** Run the host script under a shell; the result with its key=value answer parsed when it succeeded. */
function script(args: Args, shell = 'sh', wrap: string[] = []) {
  const argv = [...wrap, shell, '-c', scanScript(), 'ironclad-images', ...Object.entries(args).map(([k, v]) => `${k}=${v}`)];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function scan(root: string, cachedir: string, extra: Args = {}, shell = 'sh'): ScanStats & { manifest: string } {
  const manifest = join(cachedir, `m${Math.random().toString(36).slice(2)}`);
  const r = script({ op: 'scan', root, cachedir, manifest, algo: 'sha256', ...extra }, shell);
  if (r.code !== 0) throw new Error(`scan failed (${r.code}): ${r.stderr}`);
  return { ...parseScanStats(r.stdout), manifest };
}

async function entries(manifest: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const b of entryBatches(createReadStream(manifest))) out.push(...b);
  return out;
}

const sha256 = (path: string | Buffer) => createHash('sha256').update(readFileSync(path)).digest('hex');
const bytesPath = (root: string, p: string) => Buffer.concat([Buffer.from(`${root}/`), Buffer.from(p, 'latin1')]);

for (const shell of ['sh', 'bash']) {
  t.test(`${shell}: the manifest lists every file, sorted by bytes, hashed right, awkward names intact`, async (t) => {
    const root = t.testdir();
    const tree = join(root, 'tree');
    sourceTree(tree);
    const s = scan(tree, join(root, 'cache'), {}, shell);
    const list = await entries(s.manifest);
    const paths = list.map((e) => e.path);
    t.equal(s.files, list.length);
    t.equal(s.hashed, s.files, 'first run hashes everything');
    t.equal(s.cached, 0);
    t.same(paths, [...paths].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))), 'byte order');
    for (const name of AWKWARD) t.ok(paths.includes(Buffer.from(name).toString('latin1')), `lists ${JSON.stringify(name)}`);
    t.ok(paths.includes(NON_UTF8.toString('latin1')), 'lists the non-UTF-8 name');
    for (const e of list) {
      t.equal(e.digest.kind === 'hashed' && e.digest.value, sha256(bytesPath(tree, e.path)), `sha256 of ${JSON.stringify(e.path)}`);
      t.equal(e.size, statSync(bytesPath(tree, e.path)).size);
    }
    t.equal(s.bytes, list.reduce((n, e) => n + e.size, 0));
  });
}

t.test('the cache: a re-run hashes only what changed (size, mtime, ctime, inode, path)', async (t) => {
  const root = t.testdir();
  const tree = join(root, 'tree');
  const cache = join(root, 'cache');
  sourceTree(tree);
  const n = scan(tree, cache).files;
  t.match(scan(tree, cache), { files: n, hashed: 0, cached: n }, 'nothing changed: nothing hashed');
  const steps: [string, () => void, Partial<ScanStats>][] = [
    ['content and mtime changed', () => writeTree(tree, { 'photos/same.jpg': 'new bytes' }), { hashed: 1, files: n }],
    ['only the mtime changed', () => utimesSync(join(tree, 'photos/gone.jpg'), new Date(), new Date('2020-01-01')), { hashed: 1 }],
    ['bytes rewritten with mtime restored (ctime moves)', () => {
      const st = statSync(join(tree, '9'));
      appendFileSync(join(tree, '9'), '');
      chmodSync(join(tree, '9'), 0o600);
      utimesSync(join(tree, '9'), st.atime, st.mtime);
    }, { hashed: 1 }],
    ['a new file', () => writeTree(tree, { 'photos/new.jpg': 'new' }), { hashed: 1, files: n + 1 }],
    ['a file replaced by another inode', () => spawnSync('cp', ['--preserve=timestamps', join(tree, '10'), join(tree, '10.tmp')]) && spawnSync('mv', [join(tree, '10.tmp'), join(tree, '10')]), { hashed: 1, files: n + 1 }],
    ['a file deleted', () => spawnSync('rm', [join(tree, 'photos/new.jpg')]), { hashed: 0, files: n }],
  ];
  for (const [what, change, want] of steps) {
    change();
    t.match(scan(tree, cache), { ...want, cached: (want.files ?? n) - (want.hashed ?? 0) }, what);
  }
  t.match(scan(tree, cache, { mode: 'rehash' }), { hashed: n, cached: 0 }, '--rehash ignores the cache');
  t.match(scan(tree, cache, { algo: 'crc32' }), { hashed: n }, 'each hash has its own cache');
  t.match(scan(tree, cache), { hashed: 0 }, '...and the sha256 one is still there');
});

t.test('sample: the same seed picks the same files on any tree; the rest comes from the cache or stays unhashed', async (t) => {
  const root = t.testdir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 400; i++) files[`d${i % 7}/f${i}.jpg`] = `file ${i}`;
  writeTree(join(root, 'a'), files);
  writeTree(join(root, 'b'), { ...files, 'only-b.jpg': 'x' });
  const picked = async (tree: string, cache: string, seed: number) => {
    const s = scan(join(root, tree), join(root, cache), { mode: 'sample', permyriad: 2500, seed });
    const list = await entries(s.manifest);
    return { s, hashed: list.filter((e) => e.digest.kind === 'hashed').map((e) => e.path) };
  };
  const a = await picked('a', 'ca', 42);
  t.ok(a.hashed.length > 40 && a.hashed.length < 160, `about a quarter picked (${a.hashed.length}/400)`);
  t.match(a.s, { hashed: a.hashed.length, unhashed: 400 - a.hashed.length, cached: 0 });
  const b = await picked('b', 'cb', 42);
  t.same(b.hashed.filter((p) => p !== 'only-b.jpg'), a.hashed, 'same seed, same picks on another tree');
  const other = await picked('a', 'cc', 43);
  t.not(other.hashed.join(), a.hashed.join(), 'another seed, other picks');
  scan(join(root, 'a'), join(root, 'cd'));
  const warm = scan(join(root, 'a'), join(root, 'cd'), { mode: 'sample', permyriad: 2500, seed: 42 });
  t.match(warm, { hashed: a.hashed.length, cached: 400 - a.hashed.length, unhashed: 0 }, 'with a cache: picks are rehashed, the rest reused');
});

t.test('fast hashes: crc32 (cksum) always, xxh128 when xxhsum is installed', async (t) => {
  const root = t.testdir();
  writeTree(join(root, 't'), { 'a b.jpg': 'hello', 'n\nl.jpg': 'world' });
  const s = scan(join(root, 't'), join(root, 'c'), { algo: 'crc32' });
  t.equal(s.tool, 'cksum');
  for (const e of await entries(s.manifest)) {
    const crc = spawnSync('cksum', { input: readFileSync(bytesPath(join(root, 't'), e.path)), encoding: 'utf8' }).stdout.split(' ')[0];
    t.same(e.digest, { kind: 'hashed', value: crc }, JSON.stringify(e.path));
  }
  const probe = parseProbe(script({ op: 'probe', root: join(root, 't'), cachedir: join(root, 'c') }).stdout);
  if (!probe.algos.includes('xxh128')) return t.pass('xxhsum is not installed here');
  const x = await entries(scan(join(root, 't'), join(root, 'c'), { algo: 'xxh128' }).manifest);
  t.ok(x.every((e) => e.digest.kind === 'hashed' && /^[0-9a-f]{32}$/.test(e.digest.value)));
});

t.test('blake3 (b3sum, where installed): every name hashed right, the one that is not UTF-8 included', async (t) => {
  const root = t.testdir();
  const tree = join(root, 'tree');
  sourceTree(tree);
  const probe = parseProbe(script({ op: 'probe', root: tree, cachedir: join(root, 'c') }).stdout);
  if (!probe.algos.includes('blake3')) return t.pass('b3sum is not installed here');
  const s = scan(tree, join(root, 'c'), { algo: 'blake3' });
  t.match(s, { tool: 'b3sum', unreadable: 0, hashed: AWKWARD.length + 6 });
  for (const e of await entries(s.manifest)) {
    const want = spawnSync('b3sum', ['--no-names'], { input: readFileSync(bytesPath(tree, e.path)), encoding: 'utf8' }).stdout.trim();
    t.same(e.digest, { kind: 'hashed', value: want }, JSON.stringify(e.path));
  }
});

t.test('hashing groups: any number of jobs and chunk sizes give the same manifest', async (t) => {
  const root = t.testdir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 60; i++) files[`d${i % 7}/f${i}.jpg`] = 'x'.repeat(i * 37);
  writeTree(join(root, 't'), files);
  const want = (await entries(scan(join(root, 't'), join(root, 'c0'), { jobs: 1 }).manifest)).map((e) => e.digest);
  for (const [jobs, chunk_files, chunk_bytes] of [[2, 2000, 1 << 29], [3, 7, 1 << 29], [5, 1000, 500]]) {
    const s = scan(join(root, 't'), join(root, `c${jobs}`), { jobs, chunk_files, chunk_bytes });
    t.same((await entries(s.manifest)).map((e) => e.digest), want, `jobs=${jobs} chunk_files=${chunk_files} chunk_bytes=${chunk_bytes}`);
  }
});

t.test('a cache kept inside the tree is not part of it', async (t) => {
  const root = t.testdir();
  writeTree(root, { 'a.jpg': 'a', 'sub/b.jpg': 'b' });
  const s = scan(root, join(root, '.cache/ironclad'));
  t.same((await entries(s.manifest)).map((e) => e.path), ['a.jpg', 'sub/b.jpg']);
  t.match(scan(root, join(root, '.cache/ironclad')), { files: 2, hashed: 0 });
});

t.test('bad input: missing root, unknown argument, unknown algorithm', async (t) => {
  const dir = t.testdir();
  t.equal(script({ op: 'scan', root: join(dir, 'nope'), cachedir: dir, manifest: join(dir, 'm') }).code, 66);
  t.equal(script({ op: 'probe', root: join(dir, 'nope') }).code, 66);
  t.equal(script({ op: 'scan', root: dir, bogus: 1 }).code, 64);
  t.equal(script({ op: 'scan', root: dir, cachedir: dir, manifest: join(dir, 'm'), algo: 'md5' }).code, 64);
});

t.test('a second scan of the same tree at the same time is refused (75)', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 't'));
  const prefix = parseProbe(script({ op: 'probe', root: join(dir, 't'), cachedir: join(dir, 'c') }).stdout).prefix;
  mkdirSync(join(dir, 'c'));
  const holder = spawn('flock', [`${prefix}.lock`, 'sleep', '30'], { stdio: 'ignore' });
  t.teardown(() => void holder.kill());
  await new Promise((r) => setTimeout(r, 300));
  t.equal(script({ op: 'scan', root: join(dir, 't'), cachedir: join(dir, 'c'), manifest: join(dir, 'm') }).code, 75);
});

t.test('an unreadable file is reported as such (!), not as a hash', { skip: process.getuid?.() === 0 && !existsSync('/usr/bin/setpriv') && 'needs setpriv to drop root' }, async (t) => {
  const dir = t.testdir();
  writeTree(join(dir, 't'), { 'ok.jpg': 'fine', 'secret.jpg': 'locked' });
  mkdirSync(join(dir, 'c'));
  chmodSync(join(dir, 't', 'secret.jpg'), 0o000);
  const wrap = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  if (wrap.length) {
    for (const p of [dir, join(dir, 't'), join(dir, 'c')]) chmodSync(p, 0o777);
    chownSync(join(dir, 'c'), 65534, 65534);
  }
  const r = script({ op: 'scan', root: join(dir, 't'), cachedir: join(dir, 'c'), manifest: join(dir, 'c', 'm') }, 'sh', wrap);
  t.equal(r.code, 0, 'the scan finishes');
  t.match(r.stderr, /secret\.jpg/, 'the tool says which file');
  t.match(parseScanStats(r.stdout), { files: 2, hashed: 1, unreadable: 1 });
  const list = await entries(join(dir, 'c', 'm'));
  t.same(list.map((e) => [e.path, e.digest.kind]), [['ok.jpg', 'hashed'], ['secret.jpg', 'unreadable']]);
});

t.test('an unreadable directory is counted in walk_errors and named on stderr; none: walk_errors=0, stderr empty', { skip: process.getuid?.() === 0 && !existsSync('/usr/bin/setpriv') && 'needs setpriv to drop root' }, async (t) => {
  const dir = t.testdir();
  writeTree(join(dir, 't'), { 'ok.jpg': 'fine', 'locked/in.jpg': 'hidden' });
  mkdirSync(join(dir, 'c'));
  const wrap = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  if (wrap.length) {
    for (const p of [dir, join(dir, 't'), join(dir, 'c')]) chmodSync(p, 0o777);
    chownSync(join(dir, 'c'), 65534, 65534);
  }
  const clean = script({ op: 'scan', root: join(dir, 't'), cachedir: join(dir, 'c'), manifest: join(dir, 'c', 'm0') }, 'sh', wrap);
  t.equal(clean.code, 0);
  t.match(parseScanStats(clean.stdout), { files: 2, hashed: 2, walk_errors: 0 });
  t.equal(clean.stderr, '', 'nothing on stderr');
  chmodSync(join(dir, 't', 'locked'), 0o000);
  const r = script({ op: 'scan', root: join(dir, 't'), cachedir: join(dir, 'c'), manifest: join(dir, 'c', 'm1') }, 'sh', wrap);
  chmodSync(join(dir, 't', 'locked'), 0o755);
  t.equal(r.code, 0, 'the scan finishes');
  t.match(r.stderr, /locked/, 'find says which directory');
  t.match(parseScanStats(r.stdout), { files: 1, cached: 1, walk_errors: 1 }); // ok.jpg from the first scan's cache
});

t.test('an interrupted scan resumes from what it had hashed', async (t) => {
  const dir = t.testdir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`f${String(i).padStart(3, '0')}`] = `file ${i}`;
  writeTree(join(dir, 't'), files);
  const cachedir = join(dir, 'c');
  const prefix = parseProbe(script({ op: 'probe', root: join(dir, 't'), cachedir }).stdout).prefix;
  const args = ['op=scan', `root=${join(dir, 't')}`, `cachedir=${cachedir}`, `manifest=${join(dir, 'm')}`, 'chunk_files=1', 'jobs=1'];
  const child = spawn('sh', ['-c', scanScript(), 'ironclad-images', ...args], { detached: true, stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const journal = `${prefix}.sha256.journal`;
  const deadline = Date.now() + 20000;
  while (!(existsSync(journal) && statSync(journal).size > 200) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  t.ok(existsSync(journal), 'the journal survives the interruption');
  t.notOk(existsSync(join(dir, 'm')), 'no manifest from the interrupted run');
  t.same(readdirSync(cachedir).filter((f) => f.includes('.work.')), [], 'the work directory was removed');
  const resumed = scan(join(dir, 't'), cachedir);
  t.ok(resumed.cached > 0 && resumed.hashed < 300, `resumed: ${resumed.cached} from the journal, ${resumed.hashed} hashed`);
  t.equal(resumed.cached + resumed.hashed, 300);
  t.notOk(existsSync(journal), 'the journal is folded into the cache');
  t.match(scan(join(dir, 't'), cachedir), { hashed: 0, cached: 300 });
});
