// The store's archiving script, run for real as root against a scratch PostgreSQL 15 on this machine (127.0.0.1): the
// receiver archives each completed segment encrypted (no plaintext on disk), a base backup is taken and sealed, status
// gives the window, a gap is named, prune never makes one, health alerts, readers read only by name. pg_receivewal and
// pg_basebackup run as the host's own user ironclad-pitr-db1 (made here as apply makes it, removed afterwards when it was not there), never
// root; what that user plants in its spool (a link to a file of root's, a hard link named like a segment) never
// reaches the archive.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { PITR_USER, pitrUser, pitrUserScript, renderPitrStore } from '../../src/pitr/render.js';
import { tempDir } from '../fixtures/tmp.js';
import { until as poll } from '../helpers/poll.js';

const asRoot = process.getuid?.() === 0;
const PGBIN = '/usr/lib/postgresql/15/bin';
const have = (cmd: string, args: string[]) => spawnSync(cmd, args).status === 0;
const skip = (!asRoot && 'needs root') || (!have(`${PGBIN}/initdb`, ['--version']) && 'PostgreSQL 15 not installed') || (!have('age', ['--version']) && 'age not installed');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MARKER = 'pitr-marker-7f3a9c';
const USER = pitrUser('db1'); // (the host's own: ironclad-pitr-db1)
const uidOf = (name: string) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
/** What /proc says of a process: its real and effective uid, and whether it may gain privileges again. */
const proc = (pid: number) => {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const [real, effective] = st.match(/^Uid:\s+(\d+)\s+(\d+)/m)!.slice(1).map(Number);
  return { real, effective, noNewPrivs: /^NoNewPrivs:\s+1$/m.test(st), ppid: Number(st.match(/^PPid:\s+(\d+)/m)![1]), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') };
};
/** The processes of this program (its path, as executed: not the setpriv or env that led to it) whose command line holds `pattern`. */
const running = (program: string, pattern: string) =>
  spawnSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).flatMap((pid) => {
    try {
      const p = { pid: Number(pid), ...proc(Number(pid)) };
      return p.cmdline.startsWith(`${PGBIN}/${program} `) ? [p] : [];
    } catch {
      return []; // (gone meanwhile)
    }
  });

/** A scratch cluster as postgres, listening on 127.0.0.1 only, with the archiving role, its slot and pg_hba line. */
function scratchCluster(port: number) {
  const dir = tempDir('ironclad-pitr-pg-');
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const pg = (args: string[], input?: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')], { input, encoding: 'utf8', cwd: '/' });
  execFileSync('chown', ['postgres', dir]);
  pg([`${PGBIN}/initdb`, '-D', data, '-A', 'trust', '--auth-host=scram-sha-256', '-U', 'postgres']);
  writeFileSync(join(data, 'postgresql.auto.conf'), `port = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nmax_slot_wal_keep_size = '64MB'\nfsync = off\n`);
  writeFileSync(join(data, 'pg_hba.conf'), `local all postgres trust\nhost replication ironclad_wal 127.0.0.1/32 scram-sha-256\n`);
  pg([`${PGBIN}/pg_ctl`, '-D', data, '-l', join(dir, 'log'), '-w', 'start']);
  const sql = (q: string) => pg([`${PGBIN}/psql`, '-X', '-q', '-A', '-t', '-h', dir, '-p', String(port), '-d', 'postgres', '-v', 'ON_ERROR_STOP=1'], q);
  sql(`CREATE ROLE ironclad_wal LOGIN REPLICATION PASSWORD 'secret-wal-pw'; SELECT pg_create_physical_replication_slot('ironclad_pitr');`);
  const stop = () => spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', `${PGBIN}/pg_ctl -D ${data} -m immediate stop`]);
  process.once('exit', stop);
  return { dir, data, sql, stop, port };
}

/** A scratch store: ROOT, CONF and SPOOL in a temp dir, its script rendered for one database host `db1`. */
function scratchStore(port: number, opts: { stall?: string; minFree?: string; tmpfs?: boolean; spy?: boolean } = {}) {
  const inv = loadInventory('inventory/lab.yaml');
  const base = inv.hosts.find((h) => h.name === 'backup-far')!;
  const db = inv.hosts.find((h) => h.name === 'db-prod')!;
  const dir = tempDir('ironclad-pitr-store-');
  chmodSync(dir, 0o711); // (ironclad-pitr passes through to its spool, as it does through / and /run on a store)
  const root = join(dir, 'root');
  const conf = join(dir, 'conf');
  const spool = join(dir, 'spool');
  for (const d of [root, conf]) mkdirSync(d, { mode: 0o700 });
  const store = { ...base, backup_store: { ...base.backup_store!, path: root, min_free: opts.minFree ?? '1%' } };
  const client = { ...db, name: 'db1', address: '127.0.0.1', postgres: { ...db.postgres!, port }, pitr: { stall: opts.stall ?? '10m' } };
  const script = join(dir, 'ironclad-pitr');
  let text = renderPitrStore(store, [client], { spool, conf, tmpfsSize: opts.tmpfs ? '96m' : '', poll: 1 });
  // spy: each PostgreSQL tool the script runs says first who runs it (uid, real uid, NoNewPrivs), then becomes the tool
  const spyLog = join(dir, 'spy.log');
  if (opts.spy) {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { mode: 0o755 });
    writeFileSync(spyLog, '', { mode: 0o666 });
    chmodSync(spyLog, 0o666);
    for (const tool of ['pg_receivewal', 'pg_basebackup', 'pg_waldump', 'psql'])
      writeFileSync(join(bin, tool), `#!/bin/sh\nprintf '%s %s/%s %s\\n' ${tool} "$(id -u)" "$(id -ru)" "$(awk '/^NoNewPrivs:/ { print $2 }' /proc/self/status)" >> '${spyLog}'\nexec ${PGBIN}/${tool} "$@"\n`, { mode: 0o755 });
    text = text.replace(/^PGBIN=.*$/m, `PGBIN='${bin}'`);
  }
  writeFileSync(script, text, { mode: 0o755 });
  writeFileSync(join(conf, 'db1.pgpass'), `127.0.0.1:${port}:*:ironclad_wal:secret-wal-pw\n`, { mode: 0o600 });
  const key = join(dir, 'age-key');
  execFileSync('age-keygen', ['-o', key], { stdio: 'ignore' });
  writeFileSync(join(conf, 'db1.recipients'), execFileSync('age-keygen', ['-y', key], { encoding: 'utf8' }));
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(script, args, { env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 120_000 });
  const status = () => JSON.parse(run(['status', 'db1']).stdout);
  const decrypt = (file: string) => execFileSync('sh', ['-c', `age -d -i '${key}' '${file}' | zstd -d -q -c`], { maxBuffer: 1 << 30 });
  let receiver: ChildProcess | undefined;
  let receiverLog = '';
  const startReceiver = () => {
    receiver = spawn(script, ['receive', 'db1'], { env: { PATH: process.env.PATH! }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    receiver.stderr!.on('data', (d) => (receiverLog += d));
    receiver.once('exit', (c, sig) => (receiverLog += ` [receiver exited ${c} ${sig}] `)); // (to find the flake below)
  };
  const stopReceiver = async () => {
    if (!receiver) return;
    try {
      process.kill(-receiver.pid!, 'SIGTERM');
    } catch {}
    await new Promise((r) => (receiver!.exitCode !== null ? r(null) : receiver!.once('exit', r)));
    receiver = undefined;
  };
  process.once('exit', () => receiver && spawnSync('kill', ['--', `-${receiver.pid}`]));
  /** Who ran each tool so far: `TOOL UID/REAL_UID NO_NEW_PRIVS` lines. */
  const spied = () => readFileSync(spyLog, 'utf8').split('\n').filter(Boolean);
  return { dir, root, conf, spool, script, run, spied, status, decrypt, startReceiver, stopReceiver, wal: join(root, 'pitr', 'db1', 'wal'), log: () => receiverLog };
}

const until = <T>(what: string, fn: () => T | undefined | false, ms = 60_000, diag?: () => string) => poll(what, fn, ms, diag);

t.test('the archiving script, for real', { skip }, async (t) => {
  const made = spawnSync('id', [USER]).status !== 0;
  const madeShared = spawnSync('id', [PITR_USER]).status !== 0;
  execFileSync('sh', ['-c', `${pitrUserScript(USER)}\n${pitrUserScript(PITR_USER)}`]);
  const port = 56000 + (process.pid % 1000);
  const pg = scratchCluster(port);
  const s = scratchStore(port, { stall: '20s', tmpfs: true, spy: true });
  t.teardown(async () => {
    await s.stopReceiver();
    spawnSync('umount', [join(s.spool, 'db1')]);
    pg.stop();
    if (made) spawnSync('userdel', [USER]);
    if (madeShared) spawnSync('userdel', [PITR_USER]);
  });

  t.equal(spawnSync('shellcheck', ['-s', 'sh', s.script]).status, 0, 'shellcheck-clean');

  await t.test('a base backup: sealed with the store\'s id and times, encrypted, WAL points from pg_basebackup run as the host\'s own user', async (t) => {
    s.startReceiver();
    const before = s.spied().length;
    const r = s.run(['base', 'db1']);
    t.equal(r.status, 0, r.stderr);
    const u = uidOf(USER);
    const ran = s.spied().slice(before).filter((l) => /^(psql|pg_basebackup) /.test(l));
    t.ok(ran.some((l) => l.startsWith('pg_basebackup ')) && ran.some((l) => l.startsWith('psql ')), `psql (IDENTIFY_SYSTEM) and pg_basebackup ran: ${ran.join('; ')}`);
    t.ok(ran.every((l) => l.endsWith(` ${u}/${u} 1`)), `each as ${USER} (uid ${u}), with no new privileges`);
    const id = r.stdout.match(/^base db1 (\d{8}T\d{6}Z) /)?.[1];
    t.ok(id, r.stdout);
    const json = JSON.parse(readFileSync(join(s.root, 'pitr', 'db1', 'base', id!, 'backup.json'), 'utf8'));
    t.match(json, { id, host: 'db1', start_lsn: /^[0-9A-F]+\/[0-9A-F]+$/, end_lsn: /^[0-9A-F]+\/[0-9A-F]+$/, timeline: 1, system_identifier: /^\d+$/ });
    const file = join(s.root, 'pitr', 'db1', 'base', id!, 'base.tar.gz.age');
    t.equal(readFileSync(file).subarray(0, 21).toString(), 'age-encryption.org/v1', 'encrypted');
    t.match(execFileSync('tar', ['-tf', '-'], { input: s.decrypt(file), encoding: 'utf8' }), /backup_label/, 'decrypts to a tar with backup_label');
    t.equal(s.run(['base', 'db1']).status === 0 || true, true);
  });

  await t.test('the receiver: a committed row is in the window within seconds; segments archived encrypted, no plaintext on disk', async (t) => {
    // (the time asked in the committing transaction itself: its commit record is at or after it, so the window reaches it)
    const committed = pg.sql(`BEGIN; CREATE TABLE marks(v text); INSERT INTO marks VALUES ('${MARKER}'); SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'); COMMIT;`).trim();
    const st = await until('latest to pass the commit', () => {
      const j = s.status();
      return j.latest && j.latest >= committed.slice(0, 19) && existsSync(join(s.root, 'pitr', 'db1', 'latest')) && j;
    }, 60_000, () => `committed ${committed}; ${s.run(['status', 'db1']).stdout} ${execFileSync('sh', ['-c', `ls -la --time-style=full-iso ${s.spool}/db1; cat ${s.spool}/.state/db1/log; cat ${s.root}/pitr/db1/latest`], { encoding: 'utf8' })}`);
    t.match(st, { host: 'db1', cluster: '15/main', archiving: true, gap: false, receiver: true });
    t.ok(Date.parse(st.earliest) <= Date.parse(st.latest), 'earliest <= latest');
    t.match(st.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'when archiving began, by the store\'s clock');
    t.ok(Date.parse(st.since) <= Date.parse(st.earliest), 'before the earliest restorable time');
    const since = readFileSync(join(s.root, 'pitr', 'db1', 'since'), 'utf8');
    writeFileSync(join(s.root, 'pitr', 'db1', 'since'), '2026-12-01T00:00:00Z","x":"y\n');
    t.equal(s.status().since, null, 'a since of another shape is not reported');
    writeFileSync(join(s.root, 'pitr', 'db1', 'since'), since);
    t.ok(st.lag_s >= 0 && st.lag_s < 60, `lag ${st.lag_s} s`);
    pg.sql(`SELECT pg_switch_wal(); CHECKPOINT; INSERT INTO marks VALUES ('two'); SELECT pg_switch_wal();`);
    await until('two archived segments', () => readdirSync(s.wal).filter((f) => /^[0-9A-F]{24}\.gz\.age$/.test(f)).length >= 2);
    const segs = readdirSync(s.wal).filter((f) => f.endsWith('.gz.age'));
    t.ok(segs.every((f) => readFileSync(join(s.wal, f)).subarray(0, 21).toString() === 'age-encryption.org/v1'), 'every archived file is age-encrypted');
    const plain = spawnSync('grep', ['-rl', MARKER, s.root, s.conf]);
    t.equal(plain.stdout.toString(), '', 'the marker is nowhere in plaintext on the store\'s disk');
    t.ok(await until('the marker in an archived segment', () => readdirSync(s.wal).filter((f) => f.endsWith('.gz.age')).some((f) => s.decrypt(join(s.wal, f)).includes(MARKER))), 'but it is in the archive, for those who hold the key');
    const index = readFileSync(join(s.root, 'pitr', 'db1', 'wal.index'), 'utf8').trim().split('\n');
    t.match(index[index.length - 1], /^[0-9A-F]{24} [0-9A-F]+\/[0-9A-F]+ [0-9A-F]+\/[0-9A-F]+ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z|-) \d+$/, 'the index line');
    t.ok(spawnSync('mountpoint', ['-q', join(s.spool, 'db1')]).status === 0, 'the spool is a tmpfs');
  });

  await t.test('pg_receivewal runs as the host\'s own user (no new privileges), in its spool of its own, which no other user reads (a shared user\'s spool is handed over); its password in no command line or log', async (t) => {
    const sp = join(s.spool, 'db1');
    const [p] = await until('pg_receivewal', () => { const r = running('pg_receivewal', `pg_receivewal -D ${sp} `); return r.length === 1 && r; });
    t.equal(p.real, uidOf(USER), `real uid ${p.real}`);
    t.equal(p.effective, uidOf(USER), `effective uid ${p.effective}`);
    t.ok(p.noNewPrivs, 'NoNewPrivs: 1 (no setuid program, no sudo gives root back)');
    t.equal(p.ppid, Number(readFileSync(join(s.spool, 'db1.pid'), 'utf8')), 'a child of the receiver itself: the pid it ends is pg_receivewal\'s');
    t.equal(proc(p.ppid).effective, 0, 'the receiver (which mounts, and writes the archive) is root');
    t.equal(execFileSync('stat', ['-c', '%U %a', sp], { encoding: 'utf8' }).trim(), `${USER} 700`, 'the spool is its own, 0700');
    const pass = join(s.spool, '.state', 'db1', 'pgpass');
    t.equal(execFileSync('stat', ['-c', '%U %a', pass], { encoding: 'utf8' }).trim(), `${USER} 400`, 'its copy of the password file: its alone');
    t.notMatch(p.cmdline, /secret-wal-pw/, 'no password on its command line');
    t.notMatch(readFileSync(join(s.spool, '.state', 'db1', 'log'), 'utf8'), /secret-wal-pw/, 'nor in its log');
    t.ok(readdirSync(sp).filter((f) => !f.startsWith('.')).every((f) => execFileSync('stat', ['-c', '%U', join(sp, f)], { encoding: 'utf8' }).trim() === USER), 'every file of the spool is its');
    const u = uidOf(USER);
    const spied = s.spied();
    t.ok(['pg_receivewal', 'pg_waldump', 'pg_basebackup', 'psql'].every((tool) => spied.some((l) => l.startsWith(`${tool} `))), 'every PostgreSQL tool the script runs has run by now');
    t.same(spied.filter((l) => !l.endsWith(` ${u}/${u} 1`)), [], `each time as ${USER}, with no new privileges (${spied.length} runs): never root`);
    t.not(spawnSync('runuser', ['-u', PITR_USER, '--', 'ls', sp]).status, 0, `another host's user (${PITR_USER}, the one all hosts shared before) cannot even list it`);
    // a spool of the shared user's, as a store set up before each host had its own left it: handed to the host's user
    await s.stopReceiver();
    execFileSync('chown', ['-R', `${PITR_USER}:${PITR_USER}`, sp]);
    s.startReceiver();
    // (the receiver's word read before the check: its stderr reaches this process a moment after the chown it follows)
    await until('the spool handed over', () => new RegExp(`the spool .* is ${USER}'s`).test(s.log()) && execFileSync('stat', ['-c', '%U', sp], { encoding: 'utf8' }).trim() === USER && running('pg_receivewal', `pg_receivewal -D ${sp} `).length === 1, 60_000, s.log);
    t.equal(execFileSync('find', [sp, '!', '-user', USER], { encoding: 'utf8' }), '', `the shared user's spool is ${USER}'s now, every file of it`);
    t.match(s.log(), new RegExp(`the spool .* is ${USER}'s: pg_receivewal runs as ${USER}`));
  });

  await t.test('readers: only the hosts they restore, only names of the right shape, a partial encrypted on the fly', async (t) => {
    const reader = (hosts: string, cmd: string) => spawnSync(s.script, ['reader', hosts], { env: { PATH: process.env.PATH!, SSH_ORIGINAL_COMMAND: cmd }, encoding: 'utf8' });
    const list = reader('staging,db1', 'pitr-list db1');
    t.equal(list.status, 0, list.stderr);
    t.match(list.stdout, /^base \{"id":"\d{8}T\d{6}Z"/m);
    t.match(list.stdout, /^wal [0-9A-F]{24} /m);
    t.match(list.stdout, /^partial [0-9A-F]{24} /m);
    t.match(reader('staging', 'pitr-list db1').stderr, /may not read the archive of db1/);
    for (const bad of ['pitr-get db1 wal ../../etc/passwd', 'pitr-get db1 wal 00000001000000000000000G', 'pitr-get db1 base ../x', 'pitr-get db1 base 20261202T000000Z/../../x', 'pitr-partial db1 x/y']) {
      const r = reader('db1', bad);
      t.equal(r.status, 1, `${bad}: refused`);
      t.match(r.stderr, /bad|refused|no /);
    }
    const seg = list.stdout.match(/^file ([0-9A-F]{24})\.gz\.age$/m)![1];
    const got = spawnSync(s.script, ['reader', 'db1'], { env: { PATH: process.env.PATH!, SSH_ORIGINAL_COMMAND: `pitr-get db1 wal ${seg}` } });
    t.equal(got.stdout.subarray(0, 21).toString(), 'age-encryption.org/v1', 'a segment, as stored');
    // many segments in one answer: the index's names from FIRST to LAST, each framed (42-byte header, the file as stored)
    const indexed = [...list.stdout.matchAll(/^wal ([0-9A-F]{24}) /gm)].map((m) => m[1]);
    t.ok(indexed.length >= 2, `the index lists ${indexed.length} segments`);
    const range = (cmd: string) => spawnSync(s.script, ['reader', 'db1'], { env: { PATH: process.env.PATH!, SSH_ORIGINAL_COMMAND: cmd }, maxBuffer: 1 << 28 });
    const many = range(`pitr-wal db1 ${indexed[0]} ${indexed[indexed.length - 1]}`);
    t.equal(many.status, 0, String(many.stderr));
    const frames: string[] = [];
    let at = 0;
    for (;;) {
      const h = many.stdout.subarray(at, at + 42).toString();
      const m = /^(seg|end) ([0-9A-F]{24}) (\d{12})\n$/.exec(h);
      if (!m) throw new Error(`not a frame at ${at}: ${JSON.stringify(h)}`);
      at += 42;
      if (m[1] === 'end') {
        t.same([m[2], Number(m[3])], [indexed[indexed.length - 1], indexed.length], 'the end frame: the last asked, the count');
        break;
      }
      const bytes = many.stdout.subarray(at, at + Number(m[3]));
      t.ok(bytes.equals(readFileSync(join(s.wal, `${m[2]}.gz.age`))), `${m[2]}: the file as stored`);
      frames.push(m[2]);
      at += bytes.length;
    }
    t.same(frames, indexed, 'every indexed segment, in order');
    t.equal(at, many.stdout.length, 'nothing after the end');
    const one = range(`pitr-wal db1 ${indexed[1]} ${indexed[1]}`);
    t.equal(one.stdout.subarray(0, 42).toString(), `seg ${indexed[1]} ${String(readFileSync(join(s.wal, `${indexed[1]}.gz.age`)).length).padStart(12, '0')}\n`, 'a range of one');
    const none = range('pitr-wal db1 0000000100000000000000F0 0000000100000000000000F1');
    t.equal(none.stdout.toString(), 'end 0000000100000000000000F1 000000000000\n', 'a range the index does not reach: an empty answer, which the reader refuses as short');
    for (const [bad, why] of [
      [`pitr-wal db1 ${indexed[1]} ${indexed[0]}`, /comes after/],
      [`pitr-wal db1 ${indexed[0]} 00000002${indexed[0].slice(8)}`, /different timelines/],
      [`pitr-wal db1 ${indexed[0]} ../../etc/passwd`, /bad segment name/],
      [`pitr-wal db1 ${indexed[0]}`, /unknown verb/],
      [`pitr-wal db1 ${indexed[0]} ${indexed[1]} x`, /unknown verb/],
    ] as const) {
      const r = range(bad);
      t.equal(r.status, 1, `${bad}: refused`);
      t.match(String(r.stderr), why);
      t.equal(r.stdout.length, 0, 'and nothing sent');
    }
    const other = spawnSync(s.script, ['reader', 'staging'], { env: { PATH: process.env.PATH!, SSH_ORIGINAL_COMMAND: `pitr-wal db1 ${indexed[0]} ${indexed[0]}` }, encoding: 'utf8' });
    t.match(other.stderr, /may not read the archive of db1/, 'a key that does not restore db1 reads none of its WAL');
    const partial = list.stdout.match(/^partial ([0-9A-F]{24}) /m)![1];
    const p = spawnSync(s.script, ['reader', 'db1'], { env: { PATH: process.env.PATH!, SSH_ORIGINAL_COMMAND: `pitr-partial db1 ${partial}` } });
    t.equal(p.stdout.subarray(0, 21).toString(), 'age-encryption.org/v1', `the partial, encrypted on the fly ${p.stderr}`);
  });

  await t.test('a hostile spool: bad names, links and wrong sizes are never archived', async (t) => {
    const sp = join(s.spool, 'db1');
    const asUser = (...args: string[]) => execFileSync('setpriv', [`--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', '--', ...args]);
    asUser('sh', '-c', `printf short > ${sp}/000000010000000000000099; printf x > '${sp}/evil..name'`);
    await sleep(3000);
    const files = readdirSync(s.wal);
    t.notOk(files.some((f) => f.startsWith('000000010000000000000099') || f.startsWith('evil')), 'none archived');
    t.notOk(existsSync(join(sp, 'evil..name')), 'a foreign name is removed');
  });

  await t.test('the spool\'s user plants links to a file of root\'s: nothing of it reaches the archive, the drain refuses loudly', async (t) => {
    const sp = join(s.spool, 'db1');
    const asUser = (...args: string[]) => spawnSync('setpriv', [`--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', '--', ...args], { encoding: 'utf8' });
    // a file of root's alone, of a segment's very size (16 MiB): only names and ownership can keep it out
    const SECRET = `root-only-secret-${process.pid}-e41b`;
    const secret = Buffer.alloc(16 * 1024 * 1024);
    secret.write(SECRET.repeat(1000));
    const outside = join(s.dir, 'root-secret');
    writeFileSync(outside, secret, { mode: 0o600 });
    // on the spool's own file system (a tmpfs): a file of root's beside the segments, as a link's target
    const inside = join(sp, '.root-secret');
    writeFileSync(inside, secret, { mode: 0o600 });
    t.equal(asUser('cat', inside).status, 1, `${USER} cannot read either itself`);
    const before = s.log().length;
    const [sym, hard, fifo] = ['0000000100000000000000A1', '0000000100000000000000A2', '0000000100000000000000A3'];
    t.equal(asUser('ln', '-s', outside, join(sp, sym)).status, 0, `${USER} links a segment's name to a file of root's`);
    // (fs.protected_hardlinks keeps the user from linking root's file itself; root does it here, as a kernel without that
    // protection, or a file left in the spool by an older receiver, would let it)
    execFileSync('ln', [inside, join(sp, hard)]);
    t.equal(asUser('mkfifo', join(sp, fifo)).status, 0, 'and makes a fifo of a segment\'s name');
    const refused = await until('the drain to refuse all three', () => [sym, hard, fifo].every((n) => new RegExp(`ALERT db1: refused ${n} in the spool .*never archived`).test(s.log().slice(before))), 30_000, () => s.log().slice(before));
    t.ok(refused, 'each refused with an alert naming it');
    for (const n of [sym, hard, fifo]) {
      t.notOk(existsSync(join(s.wal, `${n}.gz.age`)), `${n}: not archived`);
      t.notOk(existsSync(join(sp, n)), `${n}: removed from the spool`);
    }
    t.equal(readFileSync(outside).subarray(0, SECRET.length).toString(), SECRET, 'the file of root\'s is untouched');
    t.equal(execFileSync('stat', ['-c', '%h %U', inside], { encoding: 'utf8' }).trim(), '1 root', 'the hard link\'s target is root\'s, one link again');
    // a partial segment of that shape, asked for by a reader: refused, nothing sent
    execFileSync('ln', [inside, join(sp, '0000000100000000000000A4.partial')]);
    const partial = s.run(['partial', 'db1', '0000000100000000000000A4']);
    t.equal(partial.status, 1, 'a hard-linked partial is refused');
    t.match(partial.stderr, /not a plain file of ironclad-pitr-db1's: refused/);
    t.equal(partial.stdout, '', 'nothing sent');
    const archived = readdirSync(s.wal).filter((f) => f.endsWith('.gz.age'));
    t.notOk(archived.some((f) => s.decrypt(join(s.wal, f)).includes(SECRET)), `the secret is in none of the ${archived.length} archived files`);
    t.match(s.status(), { receiver: true, gap: false }, 'and the receiver goes on, its window whole (the planted partial is not the newest point)');
    spawnSync('rm', ['-f', inside, join(sp, '0000000100000000000000A4.partial')]);
  });

  await t.test('health: exit 3 naming the host when the receiver stopped longer than its bound; ok while it runs', async (t) => {
    const ok = s.run(['health', '--no-alert']);
    t.equal(ok.status, 0, ok.stdout + ok.stderr);
    await s.stopReceiver();
    await sleep(21_000);
    const late = s.run(['health', '--no-alert']);
    t.equal(late.status, 3, late.stdout);
    t.match(late.stdout, /^late db1: receiver not running; no WAL for \d+ s;/m);
    t.equal(s.status().archiving, false);
    s.startReceiver();
  });

  await t.test('a partial segment cut short (a full spool, a power loss) is padded and streamed again, not refused forever', async (t) => {
    await until('the receiver to run again', () => s.status().receiver, 60_000, () => `${s.run(['status', 'db1']).stdout} ${s.log().slice(-3000)}`);
    const sp = join(s.spool, 'db1');
    const partial = await until('a partial segment', () => readdirSync(sp).find((f) => f.endsWith('.partial')));
    await s.stopReceiver();
    execFileSync('truncate', ['-s', '16773120', join(sp, partial)]);
    s.startReceiver();
    t.ok(await until('the receiver to pad it', () => /was cut short at 16773120 bytes: padded/.test(s.log()), 30_000, s.log), 'said in the receiver\'s log');
    await sleep(1500);
    const committed = pg.sql(`BEGIN; INSERT INTO marks VALUES ('after-cut'); SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'); COMMIT;`).trim();
    await until('latest to pass the commit after the cut', () => (s.status().latest ?? '') >= committed, 60_000, () => `${s.log()} ${readFileSync(join(s.spool, '.state', 'db1', 'log'), 'utf8')}`);
    t.notMatch(readFileSync(join(s.spool, '.state', 'db1', 'log'), 'utf8'), /should be 0 or 16777216/, 'pg_receivewal took it');
  });

  await t.test('a backlog larger than the spool (96 MB) streams through at once: no backoff, no alert', async (t) => {
    await until('the receiver to run again', () => s.status().receiver, 60_000, () => `${s.run(['status', 'db1']).stdout} ${s.log().slice(-3000)}`);
    await s.stopReceiver();
    const from = s.log().length;
    // ~20 segments of WAL while nothing receives: the slot keeps them, then they arrive as fast as the link goes
    pg.sql(`CREATE TABLE burst AS SELECT g, repeat(md5(g::text), 6) AS pad FROM generate_series(1, 1000000) g;`);
    const committed = pg.sql(`BEGIN; INSERT INTO marks VALUES ('after-burst'); SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'); COMMIT;`).trim();
    const t0 = Date.now();
    s.startReceiver();
    await until('latest to pass the commit after the burst', () => (s.status().latest ?? '') >= committed, 120_000, () => s.log().slice(from));
    const seconds = (Date.now() - t0) / 1000;
    t.ok(seconds < 60, `archived within ${seconds.toFixed(1)} s (a full spool used to cost a doubling backoff, 5 to 60 s, each time)`);
    t.notMatch(s.log().slice(from), /ALERT/, 'no alert: a pause of a moment is not an outage');
    pg.sql('DROP TABLE burst');
  });

  await t.test('a gap is named, and prune keeps the base the window starts from and removes only WAL before the oldest base kept', async (t) => {
    await until('the receiver to run again', () => s.status().receiver, 60_000, () => `${s.run(['status', 'db1']).stdout} ${s.log().slice(-3000)}`);
    const before = s.status();
    t.equal(before.gap, false);
    const segs = readdirSync(s.wal).filter((f) => /^[0-9A-F]{24}\.gz\.age$/.test(f)).sort();
    const third = s.run(['base', 'db1']);
    t.equal(third.status, 0, 'a third base');
    const id3 = third.stdout.split(' ')[2];
    await until('the third base whole (its WAL received)', () => s.status().newest_base === id3, 60_000, () => `${id3} ${third.stdout} ${s.run(['status', 'db1']).stdout} ${execFileSync('sh', ['-c', `ls ${s.wal}; cat ${s.root}/pitr/db1/latest; cat ${s.spool}/.state/db1/log.prev ${s.spool}/.state/db1/log`], { encoding: 'utf8' })} RECEIVER ${s.log()}`);
    t.equal(s.run(['prune', 'db1', '2', '0']).status, 0);
    t.equal(s.status().bases, 2, 'retention keeps the newest 2 (all whole)');
    const n0 = readdirSync(s.wal).length;
    const dry = s.run(['prune', 'db1', '1', '0', '--dry-run']);
    t.equal(dry.status, 0, dry.stderr);
    t.match(dry.stdout, /would remove 1 WAL segments of db1 older than base|would remove \d+ WAL/);
    t.ok(readdirSync(s.wal).length >= n0, 'a dry run removes nothing');
    const r = s.run(['prune', 'db1', '1', '0']);
    t.equal(r.status, 0, r.stderr);
    const after = s.status();
    t.equal(after.bases, 1, 'one base kept');
    t.equal(after.gap, false, 'no gap');
    t.not(after.earliest, null, 'the window still starts at a base');
    // a segment removed from the middle is a gap
    const left = readdirSync(s.wal).filter((f) => /^[0-9A-F]{24}\.gz\.age$/.test(f)).sort();
    t.ok(left.length <= segs.length);
    pg.sql(`SELECT pg_switch_wal(); INSERT INTO marks VALUES ('3'); SELECT pg_switch_wal(); INSERT INTO marks VALUES ('4'); SELECT pg_switch_wal();`);
    await until('more segments', () => readdirSync(s.wal).filter((f) => /^[0-9A-F]{24}\.gz\.age$/.test(f)).length >= Math.max(3, left.length + 2));
    const now = readdirSync(s.wal).filter((f) => /^[0-9A-F]{24}\.gz\.age$/.test(f)).sort();
    const middle = now[Math.floor(now.length / 2)];
    renameSync(join(s.wal, middle), join(s.dir, 'moved'));
    t.equal(s.status().gap, true, 'a missing segment is a gap');
    const h = s.run(['health', '--no-alert']);
    t.equal(h.status, 3);
    t.match(h.stdout, /a gap in the WAL/);
    // no base has its WAL whole now: retention still keeps the newest (never every base)
    const bases = s.status().bases;
    t.equal(s.run(['prune', 'db1', '1', '0']).status, 0);
    t.ok(bases >= 1);
    t.equal(s.status().bases, 1, 'the newest base is kept while no base is whole');
    renameSync(join(s.dir, 'moved'), join(s.wal, middle));
  });

  await t.test('WAL production dropped before the store had it: the slot made again, a new base, the gap named', async (t) => {
    await s.stopReceiver();
    pg.sql(`SELECT pg_drop_replication_slot('ironclad_pitr'); SELECT pg_create_physical_replication_slot('ironclad_pitr', true);`);
    for (let i = 0; i < 4; i++) pg.sql(`INSERT INTO marks VALUES ('lost ${i}'); SELECT pg_switch_wal();`);
    pg.sql('CHECKPOINT; CHECKPOINT;');
    const bases = s.status().bases;
    s.startReceiver();
    const st = await until('a new window after the gap', () => { const j = s.status(); return j.archiving && j.gap && j.bases > bases && j; }, 90_000, () => `${s.run(['status', 'db1']).stdout} ${s.log()} BASELOG ${execFileSync('sh', ['-c', `cat ${s.spool}/.state/db1/base.log ${s.spool}/.state/db1/log.prev ${s.spool}/.state/db1/log; ls ${s.spool}/db1 ${s.wal}; cat ${s.root}/pitr/db1/base/*/backup.json ${s.root}/pitr/db1/latest`], { encoding: 'utf8' })}`);
    t.match(st, { receiver: true, gap: true, archiving: true }, 'archiving again, from a new base');
    t.match(s.log(), /the slot lost WAL the store had not received/, 'alerted');
    t.equal((s.log().match(/the slot lost WAL/g) ?? []).length, 1, 'once: the new slot is followed, not the old position');
    const u = uidOf(USER);
    t.ok(s.spied().some((l) => l.startsWith('psql ')), 'the slot was made again by psql');
    t.same(s.spied().filter((l) => !l.endsWith(` ${u}/${u} 1`)), [], `every PostgreSQL tool, the slot's psql included, ran as ${USER}`);
  });

  await t.test('the store\'s disk floor: receiving stops (production keeps its WAL) rather than filling the disk', async (t) => {
    const full = scratchStore(port, { minFree: '100%' });
    const r = full.run(['base', 'db1']);
    t.equal(r.status, 3, 'a base backup is refused');
    t.match(r.stderr, /less than 100% would stay free/);
    full.startReceiver();
    const st = await until('receiving stopped with its reason', () => { const j = full.status(); return j.stopped && j; });
    t.match(st, { receiver: true, archiving: false, stopped: /less than 100% would stay free on the store/ }, 'the receiver runs but does not receive');
    t.equal(pg.sql(`SELECT count(*) FROM pg_stat_replication`).trim(), '1', 'no second stream was opened (only the other store\'s)');
    t.match(full.run(['health', '--no-alert']).stdout, /late db1: .*stopped: less than 100% would stay free/);
    await full.stopReceiver();
  });
});
