// The check key's op=read (a pulled repair): the real entry point, run as sshd runs a forced command, asked by a
// hostile replica for every path that could lead out of the pair's tree; and a race swapping a directory for a link.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { renderSourceEntry } from '../../src/images/check-key.js';
import type { ImagePair } from '../../src/inventory/types.js';

const UNIT = 'ironclad-images-check-uploads';

function setup(dir: string) {
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'a'), { recursive: true });
  mkdirSync(join(tree, 'ünïcödé'));
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(tree, 'a', '-f.jpg'), '0123456789');
  writeFileSync(join(tree, 'new\nline.jpg\n'), 'newline');
  writeFileSync(join(tree, 'ünïcödé', '名前.jpg'), 'unicode');
  writeFileSync(join(dir, 'outside', 'secret'), 'SECRET');
  writeFileSync(join(dir, 'tree-evil'), 'SECRET'); // beside the tree, its name starting like the tree's
  symlinkSync(join(dir, 'outside'), join(tree, 'out'));
  symlinkSync('a', join(tree, 'inner')); // a link to a directory inside the tree: the scanner never lists through it
  symlinkSync(join(dir, 'outside', 'secret'), join(tree, 'link.jpg'));
  symlinkSync('a/-f.jpg', join(tree, 'alias.jpg'));
  execFileSync('mkfifo', [join(tree, 'pipe')]);
  if (process.getuid?.() === 0) execFileSync('mknod', [join(tree, 'zero'), 'c', '1', '5']);
  const pair: ImagePair = { name: 'uploads', source: { host: 'a', path: tree }, replica: { host: 'b', path: '/r' }, check: { schedule: 'daily' } };
  const entry = join(dir, 'entry');
  writeFileSync(entry, renderSourceEntry(pair, UNIT));
  chmodSync(entry, 0o755);
  // as sshd runs a forced command: the login shell's -c, the client's words in SSH_ORIGINAL_COMMAND, its stdin
  const as = (words: string, stdin: string | Buffer = '') =>
    spawnSync('bash', ['-c', entry], { input: Buffer.from(stdin), timeout: 10_000, encoding: 'buffer', env: { PATH: '/usr/bin:/bin', HOME: join(dir, 'home'), SSH_ORIGINAL_COMMAND: words } });
  return { tree, entry, as };
}

t.test('op=read gives the bytes of a file of the tree from an offset, and refuses every path that leads elsewhere', async (t) => {
  const dir = t.testdir();
  const { entry, as } = setup(dir);
  const sc = spawnSync('shellcheck', ['-s', 'sh', entry], { encoding: 'utf8' });
  t.equal(sc.stdout + sc.stderr, '', 'the entry point is shellcheck-clean');
  t.match(as('op=probe').stdout.toString(), /^algos=sha256[a-z0-9,]*\nread=yes\n$/, 'the probe says it can read');
  const good: [string, number, string][] = [
    ['a/-f.jpg', 1, '0123456789'],
    ['a/-f.jpg', 5, '456789'],
    ['a/-f.jpg', 11, ''],
    ['a/-f.jpg', 1000, ''],
    ['new\nline.jpg\n', 1, 'newline'],
    ['ünïcödé/名前.jpg', 1, 'unicode'],
  ];
  for (const [path, offset, want] of good) {
    const r = as(`op=read offset=${offset}`, path);
    t.equal(r.status, 0, `${JSON.stringify(path)} from ${offset}: ${r.stderr.toString().trim()}`);
    t.equal(r.stdout.toString(), want);
  }
  const far = as('op=read offset=999999999999999', 'a/-f.jpg');
  t.ok(far.status !== 0 || far.stdout.length === 0, 'an offset beyond what the file system can seek: nothing');
  t.equal(far.stdout.length, 0);
  const hostile: [string | Buffer, number, string][] = [
    ['', 65, 'nothing'],
    ['/etc/passwd', 65, 'an absolute path'],
    [join(dir, 'outside', 'secret'), 65, "an absolute path to the secret"],
    ['../outside/secret', 65, "'..' out"],
    ['../tree-evil', 65, "'..' to a name beside the tree"],
    ['a/../../outside/secret', 65, "'..' in the middle"],
    ['a/../-f.jpg', 65, "'..' that stays inside"],
    ['./a/-f.jpg', 65, "a '.' component"],
    ['a//-f.jpg', 65, 'an empty component'],
    ['a/-f.jpg/', 65, 'a trailing slash'],
    ['out/secret', 65, 'a directory linked out of the tree'],
    ['inner/-f.jpg', 65, 'a directory linked inside the tree (passes the first check; the opened file is elsewhere)'],
    ['link.jpg', 66, 'a file linked out of the tree'],
    ['alias.jpg', 66, 'a file linked inside the tree'],
    ['a', 66, 'a directory'],
    ['pipe', 66, 'a FIFO (never opened: it would block)'],
    ['zero', 66, 'a device (/dev/zero: it would never end)'],
    ['nope.jpg', 66, 'no such file'],
    ['no/such/dir/x', 66, 'no such directory'],
    ['a/' + 'x'.repeat(4100), 65, 'a path longer than 4096 bytes'],
    [Buffer.from('a/-f.jpg\0/../../outside/secret'), 65, 'a NUL byte (dropped by sh: what is left is checked)'],
  ];
  for (const [path, code, why] of hostile) {
    const r = as('op=read offset=1', path);
    t.equal(r.status, code, `${why}: refused with ${code} (${r.stderr.toString().trim()})`);
    t.equal(r.stdout.length, 0, `${why}: nothing on stdout`);
  }
  const words = ['op=read', 'op=read offset=0', 'op=read offset=01', 'op=read offset=-1', 'op=read offset=1e3', 'op=read offset=', 'op=read offset=1 offset=2', 'op=read offset=1 algo=sha256', 'op=read offset=1 mode=rehash', 'op=read offset=1 root=/etc', 'op=read offset=1000000000000000', 'op=read offset=1;cat /etc/passwd', 'op=probe offset=1', 'op=manifest offset=1', 'op=scan algo=sha256 mode=rehash offset=1', 'offset=1'];
  for (const w of words) {
    const r = as(w, 'a/-f.jpg');
    t.equal(r.status, 64, `words ${JSON.stringify(w)}: refused (${r.stderr.toString().trim()})`);
    t.equal(r.stdout.length, 0);
  }
  t.notOk(existsSync(join(dir, 'home')), 'a read writes nothing on the source (not even the cache)');
});

t.test('a hard link in the tree is a file of the tree (what the scanner hashes, a repair may copy)', async (t) => {
  const dir = t.testdir();
  const { tree, as } = setup(dir);
  linkSync(join(dir, 'outside', 'secret'), join(tree, 'hard.jpg'));
  t.equal(as('op=read offset=1', 'hard.jpg').stdout.toString(), 'SECRET', 'read (a limit: whoever can link a file into the tree gives it to the replica)');
});

t.test('a race: a directory of the path swapped for a link out of the tree while the replica reads; never the secret', async (t) => {
  const dir = t.testdir();
  const { tree, entry } = setup(dir);
  mkdirSync(join(tree, 'd'));
  writeFileSync(join(tree, 'd', 'secret'), 'inside');
  const script = `
stop=${dir}/stop
( while [ ! -e "$stop" ]; do mv -T ${tree}/d ${tree}/d.real && ln -s ${dir}/outside ${tree}/d && rm ${tree}/d && mv -T ${tree}/d.real ${tree}/d; done ) &
i=0 inside=0 leaked=0 refused=0
while [ $i -lt 400 ]; do
  out=$(printf d/secret | SSH_ORIGINAL_COMMAND='op=read offset=1' bash -c ${entry} 2>/dev/null) && rc=0 || rc=$?
  case $out in SECRET) leaked=$((leaked + 1)) ;; inside) inside=$((inside + 1)) ;; '') refused=$((refused + 1)) ;; esac
  i=$((i + 1))
done
touch "$stop"; wait
echo "inside=$inside refused=$refused leaked=$leaked"`;
  const out = execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 120_000 }).trim();
  t.match(out, /leaked=0$/, `never the file outside (${out})`);
  t.match(out, /inside=[1-9]/, 'the file inside read when the path was whole');
});
