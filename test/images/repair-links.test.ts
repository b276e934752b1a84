// images repair runs as root in a tree others may write: a writer of the replica's tree plants a symbolic link, a FIFO
// or a hard link where the repair keeps its temp files, its lock or its progress, and must never make root write,
// truncate, chmod or block through it. Real runs of repair.sh as root on trees in a scratch folder.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { taskLine } from '../../src/images/repair-plan.js';
import { readCommand, repairCommand } from '../../src/images/repair-script.js';
import { repairImages } from '../../src/images/repair.js';
import { hostSide, localSide, writeTree } from './fixtures/trees.js';

const asRoot = process.getuid?.() === 0 ? '' : 'needs root (the repair as root, links planted by a writer of the tree)';
const base = { name: 'x', hash: 'sha256' as const, mode: { kind: 'cached' as const }, via: 'auto' as const, dryRun: false, confirm: async () => true };
const CONTENT = 'the source file, long enough to be worth resuming\n'.repeat(200);
const VICTIM = 'root-only: must never change\n';
const sha = (s: string) => execFileSync('sha256sum', { input: s }).toString().slice(0, 64);
const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

/** A source with one file, an empty replica directory `a`, and a victim file outside the replica's tree. */
function scene(dir: string) {
  writeTree(join(dir, 'src'), { 'a/new.jpg': CONTENT });
  mkdirSync(join(dir, 'dst', 'a'), { recursive: true });
  writeFileSync(join(dir, 'victim'), VICTIM, { mode: 0o600 });
  return { victim: join(dir, 'victim'), oldPart: join(dir, 'dst', 'a', `.ironclad-sha256-${sha(CONTENT).slice(0, 32)}.part`) };
}
const unchanged = (t: { equal(a: unknown, b: unknown, m: string): unknown }, victim: string) => {
  t.equal(readFileSync(victim, 'utf8'), VICTIM, 'the file outside the tree has its bytes');
  t.equal((statSync(victim).mode & 0o7777).toString(8), '600', 'and its mode');
};

for (const [what, side] of [['local', localSide], ['streamed', hostSide]] as const) {
  for (const plant of ['symlink', 'hard link', 'FIFO'] as const) {
    t.test(`${what}: a ${plant} planted at the old temp name (.ironclad-ALGO-HASH.part) is never written through`, { skip: asRoot, timeout: 60_000 }, async (t) => {
      const dir = t.testdir();
      const { victim, oldPart } = scene(dir);
      if (plant === 'symlink') symlinkSync(victim, oldPart);
      if (plant === 'hard link') linkSync(victim, oldPart);
      if (plant === 'FIFO') mkfifo(oldPart);
      const sides = { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: side('replica', join(dir, 'dst'), join(dir, 'c')) };
      const r = await repairImages({ ...base, ...sides, pieceBytes: 4096 });
      unchanged(t, victim);
      t.same(r.copied, ['a/new.jpg'], 'the repair still copies the file');
      t.same(r.failed, []);
      t.equal(readFileSync(join(dir, 'dst', 'a/new.jpg'), 'utf8'), CONTENT);
      t.ok(statSync(join(dir, 'dst', 'a/new.jpg')).nlink === 1, 'the copy is a file of its own');
    });
  }
}

t.test('a symlink planted at the old lock (.ironclad-quarantine/.lock) is not truncated', { skip: asRoot }, async (t) => {
  const dir = t.testdir();
  const { victim } = scene(dir);
  mkdirSync(join(dir, 'dst', '.ironclad-quarantine'));
  symlinkSync(victim, join(dir, 'dst', '.ironclad-quarantine', '.lock'));
  const sides = { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')) };
  const r = await repairImages({ ...base, ...sides });
  unchanged(t, victim);
  t.same(r.copied, ['a/new.jpg']);
});

const apply = (dir: string, stdin: string) =>
  localConnector().run(repairCommand({ op: 'apply', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', fetch: readCommand(join(dir, 'src')) }), { stdin });
const task = () => taskLine({ kind: 'copy', path: 'a/new.jpg', hash: sha(CONTENT), size: CONTENT.length, mtime: '1700000000' }) + '\n';

t.test('the temp directory: one a writer made (or a link to one) is refused, clearly, and nothing is written', { skip: asRoot }, async (t) => {
  for (const how of ['owned by another user', 'a symlink out of the tree', 'group-writable', 'a FIFO']) {
    const dir = t.testdir() + '-' + how.replace(/\W/g, '');
    rmSync(dir, { recursive: true, force: true });
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const { victim } = scene(dir);
    const parts = join(dir, 'dst', '.ironclad-quarantine', '.parts');
    mkdirSync(join(dir, 'dst', '.ironclad-quarantine'));
    if (how === 'owned by another user') {
      mkdirSync(parts, { mode: 0o700 });
      chownSync(parts, 65534, 65534);
      symlinkSync(victim, join(parts, `sha256-${sha(CONTENT).slice(0, 32)}.part`));
    }
    if (how === 'a symlink out of the tree') {
      mkdirSync(join(dir, 'out'), { mode: 0o700 });
      symlinkSync(victim, join(dir, 'out', `sha256-${sha(CONTENT).slice(0, 32)}.part`));
      symlinkSync(join(dir, 'out'), parts);
    }
    if (how === 'group-writable') {
      mkdirSync(parts);
      execFileSync('chmod', ['770', parts]);
    }
    if (how === 'a FIFO') mkfifo(parts);
    const r = await apply(dir, task());
    t.equal(r.code, 73, `${how}: exit 73`);
    t.match(r.stderr, /private directory of temp files .* is not/, how);
    unchanged(t, victim);
    t.notOk(existsSync(join(dir, 'dst', 'a', 'new.jpg')), `${how}: nothing installed`);
  }
});

t.test('resume still works: the unfinished copy is kept in the private directory and continued', { skip: asRoot }, async (t) => {
  const dir = t.testdir();
  scene(dir);
  const line = taskLine({ kind: 'copy', path: 'a/new.jpg', hash: sha(CONTENT), size: CONTENT.length, mtime: '1700000000' });
  const recv = (offset: number, bytes: string) =>
    localConnector().run(repairCommand({ op: 'receive', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', task: line, offset }), { stdin: bytes });
  t.match((await recv(0, CONTENT.slice(0, 1000))).stdout, /^0\tpartial\t1000\t/);
  const parts = join(dir, 'dst', '.ironclad-quarantine', '.parts');
  t.equal((statSync(parts).mode & 0o777).toString(8), '700', 'the temp directory is 0700');
  t.same(readdirSync(join(dir, 'dst', 'a')), [], 'nothing of the copy in the directory others write');
  t.equal((await localConnector().run(repairCommand({ op: 'part', root: join(dir, 'dst'), algo: 'sha256' }), { stdin: line + '\n' })).stdout, '0\thave\t1000\t\n');
  t.match((await recv(1000, CONTENT.slice(1000))).stdout, /^0\tcopied\t/);
  t.equal(readFileSync(join(dir, 'dst', 'a/new.jpg'), 'utf8'), CONTENT);
  t.same(readdirSync(parts), [], 'the temp file became the copy');
});

t.test('the progress file is in a directory only root can enter, not in /tmp', { skip: asRoot }, async (t) => {
  const dir = t.testdir();
  scene(dir);
  const r = await localConnector().run(
    repairCommand({ op: 'apply', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', fetch: `cp /var/lib/ironclad/images/run/repair-test.progress ${join(dir, 'seen')}; ${readCommand(join(dir, 'src'))}`, progress: 'repair-test.progress' }),
    { stdin: task() },
  );
  t.equal(r.code, 0, r.stderr);
  t.equal(readFileSync(join(dir, 'seen'), 'utf8'), `copying 0 1 0 ${CONTENT.length}\n`, 'the progress was written there while the copy ran');
  const run = '/var/lib/ironclad/images/run';
  const st = statSync(run);
  t.equal(`${st.uid} ${(st.mode & 0o777).toString(8)}`, '0 700', `${run} is root's, 0700`);
  t.notOk(existsSync(join(run, 'repair-test.progress')), 'removed at the end');
  const bad = await localConnector().run(repairCommand({ op: 'apply', root: join(dir, 'dst'), algo: 'sha256', quarantine: 'q', fetch: 'true', progress: '../../etc/x' }), { stdin: '' });
  t.equal(bad.code, 64, 'a progress name with a slash is refused');
});

t.test("a symlink at the file's own name is replaced (kept in the quarantine), never written through", { skip: asRoot }, async (t) => {
  const dir = t.testdir();
  const { victim } = scene(dir);
  symlinkSync(victim, join(dir, 'dst', 'a', 'new.jpg'));
  const sides = { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')) };
  const r = await repairImages({ ...base, ...sides });
  unchanged(t, victim);
  t.same(r.failed, []);
  t.equal(readFileSync(join(dir, 'dst', 'a/new.jpg'), 'utf8'), CONTENT);
  t.notOk(statSync(join(dir, 'dst', 'a/new.jpg')).isSymbolicLink());
});

t.test('prune: a quarantine swapped for a link out of the tree is not pruned (nothing removed where it points)', { skip: asRoot }, async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'dst'));
  mkdirSync(join(dir, 'elsewhere', '20200101T000000Z-aaaaaa'), { recursive: true });
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'dst', '.ironclad-quarantine'));
  const r = await localConnector().run(repairCommand({ op: 'prune', root: join(dir, 'dst'), days: 30 }));
  t.equal(r.code, 0);
  t.match(r.stderr, /leads out of the tree: not pruned/);
  t.ok(existsSync(join(dir, 'elsewhere', '20200101T000000Z-aaaaaa')), 'the old-looking directory where the link points is still there');
});
