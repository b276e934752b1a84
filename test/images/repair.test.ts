// images repair on real trees on this machine: local copies (repair.sh fetching with read.sh) and copies streamed
// through the controller (a side reached as a host); quarantine, rot on the source, resume, refused paths.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { SafetyRefusal } from '../../src/core/errors.js';
import { compareImages } from '../../src/images/compare.js';
import { repairExitCode, taskLine } from '../../src/images/repair-plan.js';
import { renderRepairResult } from '../../src/images/render-repair.js';
import { repairCommand } from '../../src/images/repair-script.js';
import { repairImages, type RepairRequest } from '../../src/images/repair.js';
import type { Side } from '../../src/images/side.js';
import { REPAIR_CASE, repairReplica, repairSource, rotSource } from './fixtures/repair-trees.js';
import { AWKWARD, hostSide, localSide, NON_UTF8, sourceTree, writeTree } from './fixtures/trees.js';

function pair(dir: string, replicaSide = localSide): { source: Side; replica: Side } {
  repairSource(join(dir, 'src'));
  repairReplica(join(dir, 'src'), join(dir, 'dst'));
  return { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: replicaSide('replica', join(dir, 'dst'), join(dir, 'c')) };
}

const base = { name: 'x', hash: 'sha256' as const, mode: { kind: 'cached' as const }, via: 'auto' as const, dryRun: false, confirm: async () => true };
const read = (dir: string, p: string) => readFileSync(join(dir, p));

for (const [what, replicaSide, mode] of [['local', localSide, 'local'], ['streamed through the controller', hostSide, 'controller']] as const) {
  t.test(`${what}: copies 3, replaces 4 into the quarantine, keeps extras, refuses the source's rot`, async (t) => {
    const dir = t.testdir();
    const sides = pair(dir, replicaSide);
    const first = await compareImages({ ...base, ...sides });
    t.same(first.missing, REPAIR_CASE.missing);
    rotSource(join(dir, 'src'));
    const before = Object.fromEntries(REPAIR_CASE.replaced.map((p) => [p, read(join(dir, 'dst'), p)]));

    const r = await repairImages({ ...base, ...sides, pieceBytes: 16 * 1024 });
    t.same(r.copied, REPAIR_CASE.missing);
    t.same(r.replaced, REPAIR_CASE.replaced);
    t.same(r.extra, REPAIR_CASE.extra);
    t.same(r.source_rot, REPAIR_CASE.sourceRot);
    t.same(r.source_rot_replica_healthy, REPAIR_CASE.sourceRot, "the replica's copy is the source's last good one");
    t.same(r.failed, []);
    t.equal(r.transfer?.mode, mode);
    t.equal(repairExitCode(r), 3, 'rot left for a person: exit 3');
    t.match(renderRepairResult(r), /restore one from the replica \(after checking it\): ironclad images repair \S*\/dst \S*\/src --only photos\/same\.jpg/, 'the human report says how to restore it the other way');
    for (const p of [...REPAIR_CASE.missing, ...REPAIR_CASE.replaced]) {
      t.same(read(join(dir, 'dst'), p), read(join(dir, 'src'), p), `${p} has the source's bytes`);
      t.equal(statSync(join(dir, 'dst', p)).mtimeMs, statSync(join(dir, 'src', p)).mtimeMs, `${p} has the source's mtime`);
    }
    t.match(r.quarantine, /\/dst\/\.ironclad-quarantine\/\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    const q = r.quarantine!.replace(/^[^/]*(?=\/)/, '');
    for (const p of REPAIR_CASE.replaced) t.same(readFileSync(join(q, p)), before[p], `the replica's old ${p} is in the quarantine`);
    for (const p of REPAIR_CASE.extra) t.ok(existsSync(join(dir, 'dst', p)), `extra ${p} kept`);
    t.notSame(read(join(dir, 'dst'), 'photos/same.jpg'), read(join(dir, 'src'), 'photos/same.jpg'), 'the rotten source file was not copied');
    t.same(execFileSync('find', [join(dir, 'dst'), '-name', '*.part']).toString(), '', 'no temp file left');

    const next = await compareImages({ ...base, ...sides });
    t.match(next, { missing: [], size_mismatch: [], content_mismatch: [], unreadable: [], source_rot: REPAIR_CASE.sourceRot, extra: REPAIR_CASE.extra }, 'the next compare shows the source rot (and the kept extras) only');

    const again = await repairImages({ ...base, ...sides, confirm: async () => t.fail('nothing to confirm') as never });
    t.match(again, { copied: [], replaced: [], source_rot: REPAIR_CASE.sourceRot });
    t.notOk(existsSync(again.quarantine), 'a repair that replaces nothing creates no quarantine');

    const back = await repairImages({ ...base, name: 'back', source: sides.replica, replica: sides.source, only: REPAIR_CASE.sourceRot });
    t.same(back.replaced, REPAIR_CASE.sourceRot, 'the other way, --only: the good copy restores the rotten source');
    t.match(await compareImages({ ...base, ...sides }), { source_rot: [], content_mismatch: [], missing: [] });
  });
}

for (const [what, replicaSide] of [['local', localSide], ['streamed', hostSide]] as const) {
  t.test(`${what}: awkward names (TAB, newline, CR, backslash, quotes, leading dash, not UTF-8) are copied byte for byte`, async (t) => {
    const dir = t.testdir();
    sourceTree(join(dir, 'src'));
    mkdirSync(join(dir, 'dst'));
    const sides = { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: replicaSide('replica', join(dir, 'dst'), join(dir, 'c')) };
    const r = await repairImages({ ...base, ...sides });
    t.equal(r.copied.length, AWKWARD.length + 6);
    t.same(r.failed, []);
    for (const name of AWKWARD) t.same(read(join(dir, 'dst'), name), read(join(dir, 'src'), name), JSON.stringify(name));
    const odd = (root: string) => readFileSync(Buffer.concat([Buffer.from(`${join(dir, root)}/`), NON_UTF8]));
    t.same(odd('dst'), odd('src'), 'the name that is not UTF-8');
    t.match(await compareImages({ ...base, ...sides }), { missing: [], extra: [], content_mismatch: [], equal: AWKWARD.length + 6, mtime_differs: 0 });
  });
}

t.test('plan only: --dry-run and a declined confirmation write nothing', async (t) => {
  const dir = t.testdir();
  const sides = pair(dir);
  const listing = () => execFileSync('find', [join(dir, 'dst'), '-printf', '%P %s %T@\n']).toString();
  const was = listing();
  const dry = await repairImages({ ...base, ...sides, dryRun: true });
  t.match(dry, { dry_run: true, copied: [], replaced: [], planned: { copy: 3, replace: 4 } });
  t.equal(repairExitCode(dry), 0);
  let asked = 0;
  await t.rejects(repairImages({ ...base, ...sides, confirm: async (plan) => (asked++, t.match(plan.planned, { copy: 3, replace: 4 }), false) }), SafetyRefusal);
  t.equal(asked, 1);
  t.equal(listing(), was, 'the replica is untouched');
});

t.test('resume: a temp file left by an earlier run is continued, and its bytes are checked before anything is installed', async (t) => {
  const dir = t.testdir();
  const sides = pair(dir);
  const src = read(join(dir, 'src'), 'deep/new/gone3.jpg');
  const plan = await repairImages({ ...base, ...sides, dryRun: true });
  t.equal(plan.planned.copy, 3);
  const digest = execFileSync('sh', ['-c', 'sha256sum <"$1" | cut -c1-32', 'sh', join(dir, 'src', 'deep/new/gone3.jpg')]).toString().trim();
  mkdirSync(join(dir, 'dst', '.ironclad-quarantine', '.parts'), { recursive: true, mode: 0o700 });
  const part = join(dir, 'dst', '.ironclad-quarantine', '.parts', `sha256-${digest}.part`);
  const wrong = Buffer.from(src.subarray(0, 30_000));
  wrong[5] ^= 1;
  writeFileSync(part, wrong);
  const r1 = await repairImages({ ...base, ...sides });
  t.match(r1.failed, [{ path: 'deep/new/gone3.jpg', why: /not the one the source's scan recorded/ }], 'a bad resumed copy is caught by the checksum');
  t.notOk(existsSync(join(dir, 'dst', 'deep/new/gone3.jpg')));
  t.notOk(existsSync(part), 'and its temp file dropped');
  writeFileSync(part, src.subarray(0, 30_000));
  const r2 = await repairImages({ ...base, ...sides });
  t.same(r2.copied, ['deep/new/gone3.jpg']);
  t.same(read(join(dir, 'dst'), 'deep/new/gone3.jpg'), src);
});

t.test('repair.sh trusts no path: absolute, .., a symlinked directory leading out, the quarantine', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'dst'));
  mkdirSync(join(dir, 'outside'));
  symlinkSync(join(dir, 'outside'), join(dir, 'dst', 'link'));
  const task = (path: string) => taskLine({ kind: 'copy', path, hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0, mtime: '1700000000' });
  const paths = ['/etc/x', '../x', 'a/../../x', 'link/x', 'link/deeper/x', '.ironclad-quarantine/x', 'ok/fine'];
  const r = await localConnector().run(repairCommand({ op: 'receive', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', task: task(paths[0]), offset: 0 }));
  t.match(r.stdout, /^0\tfailed\t0\trefused: absolute/);
  const all = await localConnector().run(repairCommand({ op: 'apply', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', fetch: 'cat /dev/null' }), { stdin: paths.map((p) => task(p) + '\n').join('') });
  const lines = all.stdout.trim().split('\n');
  t.equal(lines.length, paths.length);
  for (const [i, p] of paths.entries()) t.match(lines[i], p === 'ok/fine' ? /\tcopied\t/ : /\tfailed\t0\trefused: /, p);
  t.same(readdirSync(join(dir, 'outside')), [], 'nothing was written outside the tree');
});

t.test('one repair of a tree at a time: a second is refused (75) while the first holds the lock', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'dst', '.ironclad-quarantine', '.parts'), { recursive: true, mode: 0o700 });
  const conn = localConnector();
  t.teardown(() => conn.close());
  const holder = await conn.hold(`exec 9<${join(dir, 'dst', '.ironclad-quarantine', '.parts')} && flock 9 && echo held && cat`);
  t.equal(holder, undefined, 'held');
  const r = await localConnector().run(repairCommand({ op: 'apply', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', fetch: 'true' }), { stdin: '' });
  t.equal(r.code, 75);
  t.match(r.stderr, /another images repair of this tree is running/);
});

t.test('prune: quarantine runs older than N days are removed, newer ones and other names kept', async (t) => {
  const dir = t.testdir();
  const q = join(dir, 'dst', '.ironclad-quarantine');
  const old = '20200101T000000Z-aaaaaa';
  const recent = new Date(Date.now() - 86400_000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z') + '-bbbbbb';
  for (const d of [old, recent, 'not-a-run']) mkdirSync(join(q, d, 'photos'), { recursive: true });
  mkdirSync(join(dir, 'dst', 'a'));
  mkdirSync(join(q, '.parts'), { mode: 0o700 });
  for (const [f, when] of [['a/.ironclad-sha256-00.part', '2020-01-01'], ['.ironclad-sha256-11.part', 'now'], ['a/keep.part', '2020-01-01'], ['.ironclad-quarantine/.parts/sha256-22.part', '2020-01-01'], ['.ironclad-quarantine/.parts/sha256-33.part', 'now']] as const) {
    writeFileSync(join(dir, 'dst', f), 'x');
    execFileSync('touch', ['-d', when, join(dir, 'dst', f)]);
  }
  const r = await localConnector().run(repairCommand({ op: 'prune', root: join(dir, 'dst'), days: 30 }));
  t.equal(r.code, 0, r.stderr);
  t.same(readdirSync(q).sort(), [recent, 'not-a-run', '.parts'].sort());
  t.match(r.stdout, `removed\t${old}`);
  t.match(r.stdout, 'removed_parts\t2');
  t.same(execFileSync('find', [join(dir, 'dst'), '-name', '*.part', '-printf', '%P\n']).toString().split('\n').sort(), ['', '.ironclad-quarantine/.parts/sha256-33.part', '.ironclad-sha256-11.part', 'a/keep.part'], 'old unfinished copies removed (an older version\'s in the tree, and in the private directory); new ones and other names kept');
});

for (const [what, replicaSide] of [['local', localSide], ['streamed', hostSide]] as const) {
  t.test(`${what}: a copy keeps the source's permission bits, never its setuid, setgid or sticky bit`, async (t) => {
    const dir = t.testdir();
    const modes: Record<string, number> = { 'private.key': 0o600, 'group.txt': 0o640, 'tool.sh': 0o755, 'suid.bin': 0o4755, 'sgid.bin': 0o2750, 'sticky.txt': 0o1644, 'replaced.txt': 0o400 };
    writeTree(join(dir, 'src'), Object.fromEntries(Object.keys(modes).map((p) => [p, `content of ${p}\n`])));
    for (const [p, m] of Object.entries(modes)) chmodSync(join(dir, 'src', p), m);
    writeTree(join(dir, 'dst'), { 'replaced.txt': 'an older, longer copy' });
    chmodSync(join(dir, 'dst', 'replaced.txt'), 0o666);
    const sides = { source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: replicaSide('replica', join(dir, 'dst'), join(dir, 'c')) };
    const r = await repairImages({ ...base, ...sides });
    t.same(r.failed, []);
    t.same([...r.copied, ...r.replaced].sort(), Object.keys(modes).sort());
    for (const [p, m] of Object.entries(modes)) t.equal((statSync(join(dir, 'dst', p)).mode & 0o7777).toString(8), (m & 0o777).toString(8), `${p}: ${m.toString(8)} on the source`);
  });
}

t.test("repair.sh: a temp file is 0600 while it travels; an unknown mode leaves the copy 0600", async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'dst'));
  const hash = execFileSync('sh', ['-c', "printf 'abc' | sha256sum | cut -d' ' -f1"]).toString().trim();
  const line = taskLine({ kind: 'copy', path: 'a.txt', hash, size: 3, mtime: '1700000000' });
  const part = await localConnector().run(repairCommand({ op: 'receive', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', task: line, offset: 0 }), { stdin: 'ab' });
  t.match(part.stdout, /^0\tpartial\t2\t/);
  const parts = join(dir, 'dst', '.ironclad-quarantine', '.parts');
  const tmp = readdirSync(parts).find((f) => f.endsWith('.part'))!;
  t.equal((statSync(join(parts, tmp)).mode & 0o777).toString(8), '600', 'the unfinished copy is private');
  const done = await localConnector().run(repairCommand({ op: 'receive', root: join(dir, 'dst'), algo: 'sha256', quarantine: '.ironclad-quarantine/q', task: line, offset: 2 }), { stdin: 'c' });
  t.match(done.stdout, /^0\tcopied\t3\t/);
  t.equal((statSync(join(dir, 'dst', 'a.txt')).mode & 0o777).toString(8), '600', 'no mode from the source: private');
});
