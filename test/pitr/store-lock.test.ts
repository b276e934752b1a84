// The receiver's lock, for real as root: one receiver per host, never two, and never a start that ends in silence.
// Status and health take the lock for a moment to ask whether a receiver runs; a receiver that started in that moment
// used to exit 0 without a word (`flock -n || exit 0`), and nothing but cron or systemd started one again (store.test
// lost its receiver so, 2 runs of 10 under load). The store here has no cluster to receive from (port 9): its receiver
// runs, retrying, which is all the lock needs. Host lk1, user ironclad-pitr-lk1 (not store.test's: they run side by side).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { pitrUser, pitrUserScript, renderPitrStore } from '../../src/pitr/render.js';
import { tempDir } from '../fixtures/tmp.js';
import { until as poll } from '../helpers/poll.js';

const asRoot = process.getuid?.() === 0;
const skip = (!asRoot && 'needs root') || (spawnSync('flock', ['--version']).status !== 0 && 'flock not installed');
const USER = pitrUser('lk1');
const WAIT = 3; // (LOCK_WAIT, 30 s as apply renders it)

const started = new Set<number>();
process.once('exit', () => started.forEach((pid) => spawnSync('kill', ['--', `-${pid}`], { stdio: 'ignore' })));

function store() {
  const inv = loadInventory('inventory/lab.yaml');
  const base = inv.hosts.find((h) => h.name === 'backup-far')!;
  const db = inv.hosts.find((h) => h.name === 'db-prod')!;
  const dir = tempDir('ironclad-pitr-lock-');
  chmodSync(dir, 0o711);
  const [root, conf, spool] = ['root', 'conf', 'spool'].map((d) => join(dir, d));
  for (const d of [root, conf, spool]) mkdirSync(d, { mode: 0o700 }); // (the spool's folder, as a receiver left it)
  const client = { ...db, name: 'lk1', address: '127.0.0.1', postgres: { ...db.postgres!, port: 9 }, pitr: { stall: '10m' } };
  const script = join(dir, 'ironclad-pitr');
  writeFileSync(script, renderPitrStore({ ...base, backup_store: { ...base.backup_store!, path: root, min_free: '1%' } }, [client], { spool, conf, tmpfsSize: '', poll: 1, lockWait: WAIT }), { mode: 0o755 });
  writeFileSync(join(conf, 'lk1.pgpass'), '127.0.0.1:9:*:ironclad_wal:x\n', { mode: 0o600 });
  const lock = join(spool, 'lk1.lock');
  /** A receiver started as cron or systemd starts it; `done` resolves with its exit code and all it said. */
  const start = (...extra: string[]) => {
    let said = '';
    const child: ChildProcess = spawn(script, ['receive', 'lk1', ...extra], { env: { PATH: process.env.PATH! }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    child.stderr!.on('data', (d) => (said += d));
    const done = new Promise<{ code: number | null; said: string }>((r) => child.once('close', (code) => r({ code, said })));
    const stop = async () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {}
      return done;
    };
    started.add(child.pid!);
    return { pid: child.pid!, done, stop, said: () => said };
  };
  const receiving = () => JSON.parse(spawnSync(script, ['status', 'lk1'], { encoding: 'utf8' }).stdout).receiver as boolean;
  /** The pids of this store's receivers of lk1 (its script's path on their command line). */
  const receivers = () => spawnSync('pgrep', ['-f', '--', `${script} receive lk1`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  const pidFile = () => {
    try {
      return Number(readFileSync(join(spool, 'lk1.pid'), 'utf8'));
    } catch {
      return 0; // (none yet)
    }
  };
  return { dir, script, lock, start, receiving, receivers, pidFile };
}

const until = <T>(what: string, fn: () => T | undefined | false, ms = 20_000, diag?: () => string) => poll(what, fn, ms, diag, 200);

t.test('the receiver\'s lock', { skip }, async (t) => {
  const made = spawnSync('id', [USER]).status !== 0;
  execFileSync('sh', ['-c', pitrUserScript(USER)]);
  const s = store();
  t.teardown(() => {
    if (made) spawnSync('userdel', [USER]);
  });

  await t.test('a start that finds the lock held a moment (a status read, a receiver stopping) waits for it, says so, and runs', async (t) => {
    const holder = spawn('flock', [s.lock, 'sleep', '1.5'], { stdio: 'ignore' });
    await until('the holder to hold the lock', () => spawnSync('flock', ['-n', s.lock, 'true']).status !== 0);
    const r = s.start();
    await until('the receiver to take the lock', () => s.pidFile() === r.pid && s.receiving(), 20_000, r.said);
    t.same(s.receivers(), [r.pid], 'it runs: the pid file is its');
    t.match(r.said(), /lk1: the receiver's lock was held when this receiver started \(a status read, or a receiver stopping\): taken after \d+ s/, 'and it said why it waited');
    t.notMatch(r.said(), /ALERT|Illegal|ironclad-pitr: /, 'nothing else went wrong');
    await r.stop();
  });

  await t.test('a start beside a running receiver waits LOCK_WAIT s, then says a receiver runs and exits 0: never two', async (t) => {
    const first = s.start();
    await until('the first receiver', () => s.receiving() && s.pidFile() === first.pid, 20_000, first.said);
    const t0 = Date.now();
    const second = await s.start().done;
    const waited = (Date.now() - t0) / 1000;
    t.equal(second.code, 0, 'exit 0: a receiver runs, as it should');
    t.match(second.said, new RegExp(`lk1: a receiver runs already \\(pid ${first.pid}, its lock held ${WAIT} s\\): this start exits`), 'it says so, naming the running one');
    t.ok(waited >= WAIT - 0.5, `after waiting for an ending one to let go (${waited.toFixed(1)} s)`);
    t.same(s.receivers(), [first.pid], 'one receiver runs: the first');
    t.equal(s.pidFile(), first.pid, 'its pid file untouched');
    // cron's start each minute: the receiver of the pid file holds the lock, as it should: exit 0 at once, no word
    const t1 = Date.now();
    const cron = await s.start('--keepalive').done;
    t.same(cron, { code: 0, said: '' }, 'cron\'s --keepalive start exits 0 quietly');
    t.ok(Date.now() - t1 < WAIT * 1000, `and at once (${Date.now() - t1} ms)`);
    t.same(s.receivers(), [first.pid], 'still the one receiver');
    await first.stop();
  });

  await t.test('a lock held longer than LOCK_WAIT by something that is not the receiver: the start fails, saying so', async (t) => {
    const holder = spawn('flock', [s.lock, 'sleep', String(WAIT + 5)], { stdio: 'ignore' });
    await until('the holder to hold the lock', () => spawnSync('flock', ['-n', s.lock, 'true']).status !== 0);
    for (const extra of [[], ['--keepalive']]) {
      const r = await s.start(...extra).done;
      t.equal(r.code, 1, `receive lk1 ${extra.join(' ')}: exit 1`);
      t.match(r.said, new RegExp(`lk1: the receiver's lock .*lk1\\.lock is held ${WAIT} s by a process that is not the receiver of .*lk1\\.pid: not receiving`));
    }
    holder.kill();
    await new Promise((r) => holder.once('close', r));
  });

  await t.test('receivers started while status reads the lock without a pause: every one runs', async (t) => {
    const reader = spawn('sh', ['-c', `while :; do ${s.script} status lk1 >/dev/null; done`], { stdio: 'ignore', detached: true });
    t.teardown(() => {
      try {
        process.kill(-reader.pid!, 'SIGKILL');
      } catch {}
    });
    const N = 12;
    let ran = 0;
    let waited = 0;
    for (let i = 0; i < N; i++) {
      const r = s.start();
      const up = await until(`receiver ${i} to run`, () => s.pidFile() === r.pid && s.receivers().includes(r.pid), 15_000).catch(() => false);
      if (up) ran++;
      else t.comment(`receiver ${i} did not run: ${JSON.stringify(r.said())}`);
      if (/lock was held when this receiver started/.test(r.said())) waited++;
      await r.stop();
    }
    t.equal(ran, N, `${ran} of ${N} ran (${waited} found the lock held by a status read and waited for it)`);
  });
});
