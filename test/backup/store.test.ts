// The store's script, run for real (as root, in a scratch root, the upload account played by `nobody`): the store
// decides. Forged, foreign, symlinked, unencrypted or short uploads are refused; ids and times are the store's;
// retention cannot be flushed; readers read only what they restore; health judges by the store's clock alone.
// (the calls that carry files: store-calls.test.ts; the scratch store and a genuine upload: helpers/store.ts)
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../fixtures/tmp.js';
import { asRoot, genuine, hasAge, identity, scratchStore, upload } from './helpers/store.js';

t.test('the store script, for real', { skip: (!asRoot && 'needs root (chown, the commit as root)') || (!hasAge && 'age not installed') }, async (t) => {
  const { recipient } = identity();

  t.test('a genuine upload is committed under the store\'s id and time, sealed read-only, its host\'s clock only recorded', async (t) => {
    const s = scratchStore();
    upload(s, 'u1', genuine(recipient));
    const r = s.client('db-prod', 'commit u1 app');
    t.equal(r.status, 0, r.stderr);
    const id = r.stdout.match(/^committed (\S+)$/m)?.[1] ?? '';
    t.match(id, /^\d{8}T\d{6}Z-db-prod-app$/, 'the id is the store\'s');
    t.notMatch(id, /^2099/, 'not the host\'s 2099 clock');
    const record = JSON.parse(readFileSync(join(s.root, 'db-prod', 'app', id, 'store.json'), 'utf8'));
    t.match(record, { id, host: 'db-prod', database: 'app', upload: 'u1', manifest: { finished_at: '2099-01-01T02:16:00Z', rows: 10 } });
    t.ok(Math.abs(record.received_epoch - Date.now() / 1000) < 60, 'received now, by the store\'s clock');
    const file = statSync(join(s.root, 'db-prod', 'app', id, 'data', 'dump.pgdump.age'));
    t.equal(file.uid, 0, 'root owns the committed files');
    t.equal(file.mode & 0o777, 0o440, 'read-only');
    t.equal(statSync(join(s.root, 'db-prod', 'app', id)).mode & 0o777, 0o750);
    t.notOk(existsSync(join(s.root, 'incoming', 'db-prod', 'u1')), 'the upload left incoming/');
    const again = s.client('db-prod', 'commit u1 app');
    t.equal(again.status, 0, 'a commit whose answer was lost is answered again');
    t.match(again.stdout, new RegExp(`committed ${id} \\(already\\)`));
    const last = s.client('db-prod', 'last app');
    t.match(JSON.parse(last.stdout), { id, manifest: { rows: 10 } }, 'last reads the store\'s record');
  });

  t.test('durable before it answers: every file and folder fsynced before the rename into place, the parent after', { skip: spawnSync('strace', ['-V']).status !== 0 && 'strace not installed' }, async (t) => {
    const s = scratchStore();
    upload(s, 'u9', genuine(recipient));
    const trace = join(tempDir('ironclad-strace-'), 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=fsync,rename,renameat,renameat2', '-o', trace, join(s.root, '.store.sh'), 'commit', 'db-prod', 'u9', 'app'], { env: { PATH: process.env.PATH! }, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    const id = r.stdout.match(/^committed (\S+)$/m)![1];
    const calls = readFileSync(trace, 'utf8').split('\n').filter((l) => /fsync|rename/.test(l) && !/resumed/.test(l));
    const into = calls.findIndex((l) => l.includes(`/db-prod/app/${id}"`) && /rename/.test(l));
    t.ok(into > 0, 'renamed into place');
    t.ok(calls.slice(0, into).filter((l) => l.includes('fsync')).length >= 7, `4 files and 3 folders fsynced before (${calls.slice(0, into).filter((l) => l.includes('fsync')).length})`);
    t.ok(calls.slice(into).some((l) => l.includes('fsync')), 'the folder that holds it fsynced after');
  });

  t.test('what a hostile database host proposes is refused, and nothing of it is kept', async (t) => {
    const s = scratchStore();
    const refusals: [string, Record<string, Buffer>, RegExp, string?][] = [
      ['another host', genuine(recipient, { host: 'staging' }), /names staging app; this key belongs to db-prod/],
      ['another database', genuine(recipient, { database: 'other' }), /names db-prod other/],
      ['an unencrypted dump', (() => { const g = genuine(recipient, { dump: Buffer.from('PGDMP plain') }); return g; })(), /dump\.pgdump\.age is not encrypted/],
      ['a forged verified.json', { ...genuine(recipient), 'verified.json': Buffer.from('{"verified":true}') }, /SHA256SUMS does not list exactly the files sent/],
      ['a manifest with an escape', (() => { const g = genuine(recipient); g['manifest.json'] = Buffer.from(g['manifest.json'].toString().replace('"15/main"', '"15/main\\\\";x"')); return g; })(), /not a manifest/],
    ];
    for (const [what, files, message] of refusals) {
      const name = `bad${refusals.findIndex((r) => r[0] === what)}`;
      upload(s, name, files);
      const r = s.client('db-prod', `commit ${name} app`);
      t.equal(r.status, 3, `${what}: refused (exit 3)`);
      t.match(r.stderr, message, what);
      t.notOk(existsSync(join(s.root, 'incoming', 'db-prod', name)), `${what}: dropped`);
    }
    t.same(readdirSync(s.root).filter((d) => !d.startsWith('.') && d !== 'incoming'), [], 'nothing committed');
  });

  t.test('symlinks and foreign areas: an upload is plain files in the key\'s own area, and commit follows nothing', async (t) => {
    const s = scratchStore();
    const files = genuine(recipient);
    upload(s, 'link', files);
    symlinkSync('/etc', join(s.root, 'incoming', 'db-prod', 'link', 'etc'));
    const r = s.client('db-prod', 'commit link app');
    t.equal(r.status, 3);
    t.match(r.stderr, /holds something other than plain files/);
    symlinkSync('/root', join(s.root, 'incoming', 'db-prod', 'whole'));
    const whole = s.client('db-prod', 'commit whole app');
    t.equal(whole.status, 3, 'an upload that is itself a symlink is refused');
    t.ok(existsSync('/root'), 'and what it pointed to is untouched');
    t.match(s.client('staging', 'put x f 1', 'a').stderr, /no upload area for staging/, 'a key has no area but its own host\'s');
    t.match(s.client('db-prod', 'put ../x f 1', 'a').stderr, /bad name/);
    t.match(s.client('db-prod', 'discard ../../db-prod').stderr, /bad name/);
    t.match(s.client('db-prod', 'prune db-prod 0 0 0').stderr, /refused: this key may only add backups of db-prod/);
    t.match(s.client('db-prod', 'sh -c id').stderr, /refused/);
    const notRoot = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', `cat > /tmp/ironclad-store-try.sh && sh /tmp/ironclad-store-try.sh prune db-prod 0 0 0`], { input: readFileSync(join(s.root, '.store.sh')), encoding: 'utf8' });
    t.match(notRoot.stderr, /prune is for root/, 'the upload account cannot run root\'s verbs');
  });

  t.test('found in review: what a hostile host or upload account did before, refused now', async (t) => {
    const s = scratchStore();
    // a declared size is the most that is written
    s.client('db-prod', 'put big f 10', 'x'.repeat(50_000));
    t.equal(statSync(join(s.root, 'incoming', 'db-prod', 'big', 'f')).size, 10, 'only the declared 10 bytes were written (the rest never reached the disk)');
    // a name with a newline cannot make prune remove a name in its working folder (or anywhere)
    const cwd = tempDir('ironclad-cwd-');
    writeFileSync(join(cwd, 'victim'), 'keep me');
    mkdirSync(join(s.root, 'incoming', 'db-prod', 'a\nvictim'));
    spawnSync(join(s.root, '.store.sh'), ['prune', 'db-prod', '7', '4', '6'], { cwd, env: { PATH: process.env.PATH! } });
    t.ok(existsSync(join(cwd, 'victim')), 'the victim is still there');
    // a backup folder the upload account made (in a store not adopted yet, or planted) is no backup: not listed, not recorded
    const forged = join(s.root, 'db-prod', 'app', 'forged');
    mkdirSync(join(forged, 'data'), { recursive: true });
    writeFileSync(join(forged, 'store.json'), `{"id":"forged","received_epoch":4102444800,"bytes":1,"manifest":{"rows":99999999999}}\n`);
    chownSync(forged, 65534, 65534);
    chownSync(join(forged, 'store.json'), 65534, 65534);
    t.equal(s.client('db-prod', 'last app').stdout.trim(), '', 'last ignores it (the shrink rule is not poisoned)');
    t.match(s.run(['record', 'db-prod', 'app', 'forged'], {}, '{"verified":true,"at":"2026-12-02T00:00:00Z"}\n').stderr, /not one the store committed/, 'record refuses it');
    t.notOk(existsSync(join(forged, 'verified.json')));
    // an upload that reuses the name of a committed one is committed as a new backup, not answered "already" and lost
    upload(s, 'same', genuine(recipient));
    const first = s.client('db-prod', 'commit same app').stdout.match(/^committed (\S+)$/m)?.[1];
    await new Promise((r) => setTimeout(r, 1100));
    upload(s, 'same', genuine(recipient));
    const second = s.client('db-prod', 'commit same app');
    t.equal(second.status, 0, second.stderr);
    t.notMatch(second.stdout, /already/, 'another upload under a reused name is a new backup');
    t.not(second.stdout.match(/^committed (\S+)$/m)?.[1], first);
    // long host and database names (63 characters each, as the inventory allows) still make an id readers can read
    const [host, database] = ['h'.repeat(63), 'd'.repeat(63)];
    mkdirSync(join(s.root, 'incoming', host));
    chownSync(join(s.root, 'incoming', host), 65534, 65534);
    writeFileSync(join(s.root, '.locks', host), '');
    upload(s, 'long', genuine(recipient, { host, database }), host);
    const id = s.client(host, `commit long ${database}`).stdout.match(/^committed (\S+)$/m)?.[1] ?? '';
    t.ok(id.length > 140, `a ${id.length}-character id`);
    t.equal(s.reader(host, `files ${host} ${database} ${id}`).status, 0, 'and readable');
  });

  t.test('a writer that still holds a file of the upload open (a stopped run\'s transfer, or a trick) is ended before the checks', async (t) => {
    const s = scratchStore();
    upload(s, 'held', genuine(recipient));
    const dir = join(s.root, 'incoming', 'db-prod', 'held');
    execFileSync('chown', ['-R', 'nobody:nogroup', dir]);
    const { spawn } = await import('node:child_process');
    const writer = spawn('runuser', ['-u', 'nobody', '--', 'sh', '-c', `exec 3>> '${join(dir, 'dump.pgdump.age')}'; exec sleep 60`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const r = s.client('db-prod', 'commit held app');
    t.equal(r.status, 0, r.stderr);
    t.ok(Date.now() - started < 10_000, 'at once: nothing waits for the writer');
    const ended = await new Promise<boolean>((res) => (writer.exitCode !== null || writer.signalCode ? res(true) : (writer.once('exit', () => res(true)), setTimeout(() => res(false), 3000))));
    t.ok(ended, 'the writer is gone');
    if (!ended) writer.kill('SIGKILL');
  });

  t.test("one host's commit (holding its lock) never stalls another host's upload", async (t) => {
    const s = scratchStore();
    mkdirSync(join(s.root, 'incoming', 'other'));
    writeFileSync(join(s.root, '.locks', 'other'), '');
    const { spawn } = await import('node:child_process');
    const holder = spawn('flock', ['-x', join(s.root, '.locks', 'db-prod'), 'sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const r = s.client('other', 'put o1 f 3', 'abc');
      t.equal(r.status, 0, r.stderr);
      t.ok(Date.now() - started < 5000, 'the other host wrote at once');
    } finally {
      holder.kill();
    }
  });

  t.test('a short stream goes back to incoming for the next run to resume; put never overwrites', async (t) => {
    const s = scratchStore();
    const files = genuine(recipient);
    const dump = files['dump.pgdump.age'];
    t.equal(s.client('db-prod', 'put u2 dump.pgdump.age -', dump.subarray(0, 100) as unknown as string).status, 0);
    const { ['dump.pgdump.age']: _, ...rest } = files;
    upload(s, 'u2', rest);
    const r = s.client('db-prod', 'commit u2 app');
    t.equal(r.status, 1);
    t.match(r.stderr, /checksums do not match what was sent; it stays for the next run/);
    t.ok(existsSync(join(s.root, 'incoming', 'db-prod', 'u2', '.partial', 'dump.pgdump.age')) || existsSync(join(s.root, 'incoming', 'db-prod', 'u2', 'dump.pgdump.age')), 'back in incoming/');
    t.equal(statSync(join(s.root, 'incoming', 'db-prod', 'u2')).uid, 65534, '...owned by the upload account again');
    t.equal(s.client('db-prod', 'put u2 manifest.json 3', 'abc').status, 1, 'a file already there is never overwritten by put');
  });

  t.test('retention by the store\'s clock: a burst of uploads cannot flush history; the newest verified stays', async (t) => {
    const s = scratchStore();
    const now = Math.floor(Date.now() / 1000);
    const day = 86400;
    const make = (id: string, epoch: number, verified = false) => {
      const dir = join(s.root, 'db-prod', 'app', id);
      mkdirSync(join(dir, 'data'), { recursive: true });
      writeFileSync(join(dir, 'store.json'), `{"id":"${id}","host":"db-prod","database":"app","upload":"x","received_at":"x","received_epoch":${epoch},"bytes":1,"manifest":{}}\n`);
      if (verified) writeFileSync(join(dir, 'verified.json'), '{"verified":true,"at":"2026-01-01T00:00:00Z"}\n');
    };
    make('old-verified', now - 40 * day, true);
    make('old-1', now - 20 * day);
    make('old-2', now - 9 * day);
    for (let i = 0; i < 14; i++) make(`burst-${String(i).padStart(2, '0')}`, now - 60 + i);
    const dry = s.run(['prune', 'db-prod', '7', '4', '6', '--dry-run']);
    t.equal(dry.status, 0, dry.stderr);
    t.match(dry.stdout, /keep db-prod\/app\/old-verified \(the newest verified\)/);
    t.notMatch(dry.stdout, /removed/, 'a dry run removes nothing');
    const real = s.run(['prune', 'db-prod', '7', '4', '6']);
    t.equal(real.status, 0, real.stderr);
    const left = readdirSync(join(s.root, 'db-prod', 'app')).sort();
    t.ok(left.includes('old-verified') && left.includes('old-1') && left.includes('old-2'), `history kept: ${left.join(' ')}`);
    t.equal(left.filter((d) => d.startsWith('burst-')).length, 14, 'everything younger than the daily window stays');
    make('ancient', now - 400 * day);
    s.run(['prune', 'db-prod', '7', '4', '6']);
    t.notOk(existsSync(join(s.root, 'db-prod', 'app', 'ancient')), 'what no rule keeps goes');
  });

  t.test('readers read only the backups of the hosts they restore, named files only', async (t) => {
    const s = scratchStore();
    upload(s, 'u3', genuine(recipient));
    const id = s.client('db-prod', 'commit u3 app').stdout.match(/^committed (\S+)$/m)![1];
    t.match(s.reader('db-prod', `files db-prod app ${id}`).stdout, /  dump\.pgdump\.age$/m);
    const got = s.reader('db-prod', `get db-prod app ${id} dump.pgdump.age 10`);
    t.equal(got.status, 0);
    t.equal(Buffer.from(got.stdout, 'latin1').length >= 0, true);
    t.match(s.reader('other-db', `files db-prod app ${id}`).stderr, /may not read backups of db-prod/, 'a reader of other sources is refused');
    t.match(s.reader('db-prod', `get db-prod app ${id} ../store.json`).stderr, /bad name/);
    t.match(s.reader('db-prod', `get db-prod app ${id} store.json`).stderr, /no file store\.json/);
    t.match(s.reader('db-prod', 'put x y 1').stderr, /refused/);
  });

  t.test('health: late or missing backups by the store\'s own clock, with a textfile metric and the alert', async (t) => {
    const alerts = join(tempDir('ironclad-alert-'), 'alerts');
    const textfile = join(tempDir('ironclad-prom-'), 'ironclad.prom');
    const s = scratchStore({ health: { alert: { command: `sh -c 'echo "$1" >> ${alerts}' x` }, textfile } as never });
    const late = s.run(['health']);
    t.equal(late.status, 0, 'a database whose upload area is new is not late yet');
    const id = 'recent';
    mkdirSync(join(s.root, 'db-prod', 'app', id, 'data'), { recursive: true });
    writeFileSync(join(s.root, 'db-prod', 'app', id, 'store.json'), `{"id":"${id}","received_epoch":${Math.floor(Date.now() / 1000) - 3 * 86400}}\n`);
    const r = s.run(['health']);
    t.equal(r.status, 3, 'three days old against a daily schedule: late');
    t.match(r.stdout, /^late db-prod\/app: newest \S+, \d+ s old \(allowed 93600 s\)$/m);
    t.match(readFileSync(textfile, 'utf8'), /ironclad_backup_late\{host="db-prod",database="app"\} 1/);
    t.match(readFileSync(alerts, 'utf8'), /late backups: db-prod\/app/);
  });
});
