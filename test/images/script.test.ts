import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { UserError } from '../../src/core/errors.js';
import { parseProbe, parseScanStats, scanScriptPath, scriptCommand, scriptFailure } from '../../src/images/script.js';

t.test('the host script is shellcheck-clean POSIX sh', async (t) => {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-S', 'style', scanScriptPath()], { encoding: 'utf8' });
  if (r.error) return t.fail('shellcheck is not installed');
  t.equal(r.status, 0, r.stdout || r.stderr);
});

t.test('scriptCommand: arguments survive any quoting, under sh through the local connector', async (t) => {
  const dir = join(t.testdir(), `it's a "tree" $HOME`);
  mkdirSync(dir);
  const cmd = scriptCommand({ op: 'probe', root: dir, cacheDir: join(dir, 'cache') });
  t.match(cmd, /^sh -c '/);
  const r = await localConnector().run(cmd);
  t.equal(r.code, 0, r.stderr);
  const probe = parseProbe(r.stdout);
  t.match(probe.prefix, new RegExp(`^${join(dir, 'cache').replace(/[$"]/g, '\\$&')}/[0-9a-f]{16}$`));
  t.ok(probe.algos.includes('sha256') && probe.algos.includes('crc32'));
  t.ok(probe.jobs >= 1);
});

t.test('scan arguments per mode', async (t) => {
  const base = { op: 'scan' as const, root: '/r', algo: 'sha256' as const, manifest: '/m', pack: 'gz' as const };
  t.match(scriptCommand({ ...base, mode: { kind: 'cached' } }, 'S'), / op=scan root=\/r algo=sha256 mode=cached manifest=\/m pack=gz$/);
  t.match(scriptCommand({ ...base, mode: { kind: 'rehash' } }, 'S'), / mode=rehash /);
  t.match(scriptCommand({ ...base, mode: { kind: 'sample', percent: 2.5, seed: 9 } }, 'S'), / mode=sample permyriad=250 seed=9 /);
  t.match(scriptCommand({ ...base, mode: { kind: 'cached' }, tuning: { jobs: 3, chunkFiles: 2, batch: 1 } }, 'S'), / jobs=3 chunk_files=2 batch=1$/);
});

t.test('parsing the script answers', async (t) => {
  t.same(parseProbe('prefix=/c/abc\nalgos=sha256,xxh128,crc32,bogus\njobs=4\n'), { prefix: '/c/abc', algos: ['sha256', 'xxh128', 'crc32'], jobs: 4 });
  t.throws(() => parseProbe('nothing'));
  const stats = 'files=3\nbytes=30\nhashed=1\nhashed_bytes=10\ncached=2\nunhashed=0\nunreadable=0\nwalk_errors=0\ntool=openssl\n';
  t.same(parseScanStats(stats), { files: 3, bytes: 30, hashed: 1, hashed_bytes: 10, cached: 2, unhashed: 0, unreadable: 0, walk_errors: 0, tool: 'openssl' });
  t.throws(() => parseScanStats('files=3\n'), /no bytes, hashed/);
});

t.test('script failures by exit code', async (t) => {
  const result = (code: number, stderr = 'boom') => ({ host: 'h', command: 'c', code, stdout: '', stderr, durationMs: 1 });
  t.type(scriptFailure('source h:/x', result(66)), UserError, 'no such directory is bad input (exit 2)');
  t.match(scriptFailure('source h:/x', result(75)).message, /another images compare/);
  t.match(scriptFailure('source h:/x', result(69)).message, /hashing tool is missing on h/);
  const other = scriptFailure('source h:/x', result(1, 'line1\nsort: no space left'));
  t.match(other.message, /failed on h \(exit 1\)[\s\S]*no space left/);
  t.notOk(other instanceof UserError);
});
