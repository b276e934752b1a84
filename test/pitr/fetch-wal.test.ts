// The restoring host's WAL fetch, for real (fetch.sh, mode wal): one framed answer of the store (`pitr-wal HOST FIRST
// LAST`) read into postgres' WAL folder, each segment decrypted with the host's identity and decompressed by postgres;
// an answer that is short, long, names another segment than the next asked, or says an impossible size fails, naming
// what it found, and leaves no temp file. Only the script's two connections to the outside are replaced here: the
// store (ssh) by a file of frames, and the identity's path by a scratch one.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tap from 'tap';
import { fetchScript } from '../../src/pitr/restore-scripts.js';
import { needsRootAndPostgres, postgresFolder, rootScratch } from '../helpers/postgres-account.js';
import type { Host } from '../../src/inventory/types.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const why = needsRootAndPostgres('decompressing as postgres') || (!have('age') || !have('runuser') || !have('zstd') ? 'needs age, zstd and runuser' : '');
/** One frame as the store's pitr-wal writes it: a 42-byte header `seg NAME SIZE` (or `end LAST COUNT`), then the bytes. */
const frame = (tag: 'seg' | 'end', name: string, n: number, bytes: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.from(`${tag} ${name} ${String(n).padStart(12, '0')}\n`), bytes]);
/** What the helpers below assert with. */
type Asserts = { ok: (v: unknown, m: string) => unknown; same: (a: unknown, b: unknown, m: string) => unknown };

const t = tap;
if (why) t.plan(0, why);
else await main();

async function main() {
  const { dir, uid, gid } = rootScratch(t, 'pitr-fetch-wal-');
  execFileSync('age-keygen', ['-o', join(dir, 'identity')], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', join(dir, 'identity')], { encoding: 'utf8' }).trim();
  const SEG = 1048576;
  const names = Array.from({ length: 6 }, (_, i) => `00000001000000000000000${i + 1}`);
  /** Each segment sealed as the store keeps it (zstd, or gzip as before 2026-12-03); the fifth one byte short. */
  const sealed = new Map<string, Buffer>();
  const plain = new Map<string, Buffer>();
  for (const n of names) {
    const p = execFileSync('head', ['-c', String(n.endsWith('5') ? SEG - 1 : SEG), '/dev/urandom'], { maxBuffer: 1 << 24 });
    plain.set(n, p);
    sealed.set(n, execFileSync('sh', ['-c', '$1 | age -r "$2"', 'sh', Number(n.slice(-1)) % 2 ? 'zstd -1 -q -c' : 'gzip -1', recipient], { input: p, maxBuffer: 1 << 24 }));
  }
  /** The store's whole answer for `asked`, as pitr-wal sends it. */
  const answer = (asked: string[]) => Buffer.concat([...asked.map((n) => frame('seg', n, sealed.get(n)!.length, sealed.get(n)!)), frame('end', asked[asked.length - 1], asked.length)]);

  const store: Host = { name: 'store', address: '10.0.0.2', ssh: { port: 22 }, backup_store: { path: '/srv/b', user: 'ironclad-backup' } } as unknown as Host;
  const waldir = join(dir, 'stage', 'pitr_t.wal');
  /** A file only root may read or write, which a root write through a planted link would change. */
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'root only\n', { mode: 0o600 });
  /** fetch.sh's wal mode for `segments`, the store answering `stream` (and an exit code); what it asked goes to `asked`. */
  const fetch = (segments: string[], stream: Buffer, opts: { plant?: () => void; exit?: number; keep?: boolean } = {}) => {
    writeFileSync(join(dir, 'stream'), stream);
    const script = fetchScript({ store, source: 'db', cluster: 'pitr_t', what: { mode: 'wal', segments, segSize: SEG } })
      .replace(/^WALDIR='[^']*'$/m, `WALDIR='${waldir}'`)
      .replace(/^PROGRESS='[^']*'$/m, `PROGRESS='${join(dir, 'progress')}'`)
      .replace(/^IDENTITY=.*$/m, `IDENTITY='${join(dir, 'identity')}'`)
      .replace(/^store\(\) \{\n[\s\S]*?\n\}$/m, `store() { echo "$*" > '${join(dir, 'asked')}'; cat '${join(dir, 'stream')}'; [ ${opts.exit ?? 0} = 0 ] || { echo 'ironclad-pitr: no wal 000000010000000000000003 of db' >&2; return ${opts.exit}; }; }`);
    if (!script.includes(join(dir, 'stream'))) throw new Error('the store function was not replaced');
    if (!opts.keep) {
      rmSync(join(dir, 'stage'), { recursive: true, force: true });
      postgresFolder(join(dir, 'stage'), { uid, gid });
    }
    opts.plant?.();
    return spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 60_000 });
  };
  const whole = (t: Asserts, n: string) => t.ok(readFileSync(join(waldir, n)).equals(plain.get(n)!), `${n} whole`);
  const noTemp = (t: Asserts) => {
    t.same(existsSync(waldir) ? readdirSync(waldir).filter((f) => f.startsWith('.')) : [], [], 'no temp file left in the WAL folder');
    t.same(readdirSync('/tmp').filter((f) => f.startsWith('ironclad-pitr-wal.')), [], 'nor the stream\'s folder');
  };
  const good = names.filter((n) => !n.endsWith('5') && !n.endsWith('6'));

  await t.test('one session for the whole range: every segment whole, postgres\' own, in order', async (t) => {
    const r = fetch(good, answer(good));
    t.equal(r.status, 0, r.stderr);
    t.equal(readFileSync(join(dir, 'asked'), 'utf8'), `pitr-wal db ${good[0]} ${good[3]}\n`, 'one verb, the range\'s first and last');
    for (const n of good) whole(t, n);
    t.equal(execFileSync('find', [waldir, '!', '-user', 'postgres'], { encoding: 'utf8' }), '', 'postgres\' files');
    t.match(readFileSync(join(dir, 'progress.wal'), 'utf8'), /^copying 4 4 /);
    noTemp(t);
  });

  await t.test('a segment already there (a resumed fetch) is read off the stream and kept', async (t) => {
    const r = fetch(good, answer(good), { keep: true });
    t.equal(r.status, 0, r.stderr);
    for (const n of good) whole(t, n);
  });

  const refused: [string, Buffer, RegExp][] = [
    ['truncated within a segment', answer(good).subarray(0, 42 * 2 + sealed.get(good[0])!.length + 1000), /answer was cut within WAL segment 000000010000000000000002 \(1000 of \d+ bytes\)/],
    ['truncated between segments', answer(good).subarray(0, 42 * 2 + sealed.get(good[0])!.length + sealed.get(good[1])!.length), /answer ended after 2 of 4 WAL segments \(before 000000010000000000000003\)/],
    ['no end frame', answer(good).subarray(0, answer(good).length - 42), /sent nothing where the end of its answer \(4 segments\) was due/],
    ['a segment other than the next asked', Buffer.concat([frame('seg', good[0], sealed.get(good[0])!.length, sealed.get(good[0])!), answer(good.slice(2))]), /sent seg 000000010000000000000003 \d{12}\| where WAL segment 000000010000000000000002 was due \(2 of 4\)/],
    ['a name outside the range asked', Buffer.concat([...good.map((n) => frame('seg', n, sealed.get(n)!.length, sealed.get(n)!)), frame('seg', names[5], sealed.get(names[5])!.length, sealed.get(names[5])!), frame('end', good[3], 4)]), /sent seg 000000010000000000000006 \d{12}\| where the end of its answer \(4 segments\) was due/],
    ['an end that counts otherwise', Buffer.concat([...good.map((n) => frame('seg', n, sealed.get(n)!.length, sealed.get(n)!)), frame('end', good[3], 5)]), /sent end 000000010000000000000004 000000000005\| where the end of its answer \(4 segments\) was due/],
    ['extra bytes after the end', Buffer.concat([answer(good), Buffer.from('x')]), /sent more after the end of its answer/],
    ['a size no segment can have', Buffer.concat([frame('seg', good[0], 3 * SEG), Buffer.alloc(100)]), /says WAL segment 000000010000000000000001 has 3145728 bytes, more than a segment of 1048576 can take/],
    ['a header of another shape', Buffer.concat([Buffer.from(`seg ${good[0]} 1e3\n`.padEnd(42, ' ')), Buffer.alloc(1000)]), /sent seg 000000010000000000000001 1e3\| +where WAL segment 000000010000000000000001 was due/],
    ['bytes that are not age', Buffer.concat([frame('seg', good[0], 5000, Buffer.alloc(5000, 7)), answer(good.slice(1))]), /cannot decrypt with this host's identity/],
  ];
  for (const [what, stream, message] of refused) {
    await t.test(`refused: ${what}`, async (t) => {
      const r = fetch(good, stream);
      t.equal(r.status, 1, 'fails');
      t.match(r.stderr, message);
      noTemp(t);
    });
  }

  await t.test('a segment that decrypts one byte short: fails naming it; the ones before it are whole', async (t) => {
    const asked = names.slice(2, 5);
    const r = fetch(asked, answer(asked));
    t.equal(r.status, 1);
    t.match(r.stderr, /WAL segment 000000010000000000000005 from the store has 1048575 bytes, not 1048576/);
    t.notOk(existsSync(join(waldir, names[4])), 'not put in place');
    whole(t, names[2]);
    noTemp(t);
  });

  await t.test('the store failing part way: its own word in the failure', async (t) => {
    const r = fetch(good, answer(good).subarray(0, 42 * 2 + sealed.get(good[0])!.length + sealed.get(good[1])!.length), { exit: 1 });
    t.equal(r.status, 1);
    t.match(r.stderr, /answer ended after 2 of 4 WAL segments .*the store refused or failed: ironclad-pitr: no wal 000000010000000000000003 of db/);
  });

  await t.test('postgres plants each temp name as a link to a file of root\'s: root never writes through it', async (t) => {
    const r = fetch(good, answer(good), {
      plant: () => {
        execFileSync('runuser', ['-u', 'postgres', '--', 'mkdir', '-m', '700', waldir]);
        for (const n of good) execFileSync('runuser', ['-u', 'postgres', '--', 'ln', '-s', victim, join(waldir, `.${n}.tmp`)]);
      },
    });
    t.equal(r.status, 0, r.stderr);
    t.equal(readFileSync(victim, 'utf8'), 'root only\n', 'the link\'s target is unchanged');
    t.equal(execFileSync('stat', ['-c', '%U %a', victim], { encoding: 'utf8' }), 'root 600\n', 'and still root\'s');
    for (const n of good) whole(t, n);
    t.equal(execFileSync('find', [waldir, '-type', 'l'], { encoding: 'utf8' }), '', 'no link left');
  });

  await t.test('the stage\'s parent a link to a folder of root\'s: postgres cannot make the WAL folder there', async (t) => {
    const rootOnly = join(dir, 'root-only');
    mkdirSync(rootOnly, { mode: 0o700 });
    const r = fetch(good, answer(good), {
      plant: () => {
        rmSync(join(dir, 'stage'), { recursive: true });
        symlinkSync(rootOnly, join(dir, 'stage'));
      },
    });
    t.equal(r.status, 1);
    t.match(r.stderr, /postgres cannot make .*pitr_t\.wal/);
    t.same(readdirSync(rootOnly), [], 'nothing made in root\'s folder');
    rmSync(join(dir, 'stage'));
  });
}
