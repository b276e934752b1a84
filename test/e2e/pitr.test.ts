// End to end on lab hosts (issue #19, the archive side): continuous archiving is on by default after `apply` (pt-db
// has backup: and nothing else asks for it); a row committed on production is in the recovery window within 60 s;
// `pitr base` takes a base backup; nothing plaintext reaches the store's disk; the store cut off for a while catches
// up when it returns, and production's pg_wal stays bounded by max_slot_wal_keep_size even when the cut lasts past
// it; the store's health check exits 3 once the receiver has been stopped longer than its bound; the receiver dies
// with its lab host; on the store pg_receivewal runs as the host's own user (no new privileges), never root, and a spool
// root made (a store from before) is handed over by the next apply, planned. Lab `pt` (test/e2e/pitr-lab.yaml, 10.213.40.0/24), always taken down afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { labDown } from '../../src/lab/down.js';
import { planLab } from '../../src/lab/plan.js';
import { tempDir } from '../fixtures/tmp.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, reText, slotFile, withLab } from './helpers/lab.js';
import { waitFor } from './helpers/wait.js';

const INVENTORY = slotFile(fileURLToPath(new URL('./pitr-lab.yaml', import.meta.url)));
const SECRET = join(planLab(loadInventory(INVENTORY)).stateDir, 'secrets/app.pw');
const MARKER = `pt-marker-${process.pid}-7c1e`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

async function main() {
  if (!existsSync(SECRET)) {
    mkdirSync(join(SECRET, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(SECRET, `pt-${process.pid}-${Date.now()}\n`, { mode: 0o600 });
  }
  await labDown(planLab(loadInventory(INVENTORY))); // from nothing, whatever an earlier run left
  const lab = await withLab(t, { inventoryFile: INVENTORY });
  const file = join(tempDir('ironclad-pt-'), 'lab.yaml'); // (apply keeps the estate's CA beside the inventory)
  copyFileSync(INVENTORY, file);
  const inv = ['-i', file];
  const sql = (text: string, db = 'app') => lab.sshOk('pt-db', `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text }).then((s) => s.trim());
  const status = async () => {
    const r = await ironclad([...inv, '--json', 'pitr', 'status', '--host', 'pt-db']);
    const doc = JSON.parse(r.stdout);
    return { code: r.code, ...doc.clusters[0] } as { code: number; host: string; cluster: string; earliest: string | null; latest: string | null; lag_s: number | null; archiving: boolean; bases: number; gap: boolean; receiver: boolean };
  };
  const storeDiag = async () => {
    const d = await lab.ssh('pt-store', 'ps -ef | grep -v grep | grep -E "pitr|receivewal"; tail -n 20 /var/log/ironclad-pitr.log /run/ironclad-pitr/.state/pt-db/log; /usr/local/sbin/ironclad-pitr status');
    return d.stdout + d.stderr;
  };
  const until = <T>(what: string, fn: () => Promise<T | undefined | false>, seconds: number) => waitFor(what, fn, seconds, storeDiag);
  const link = lab.host('pt-store').link;
  const cut = () => execFileSync('ip', ['link', 'set', link, 'down']);
  const mend = () => execFileSync('ip', ['link', 'set', link, 'up']);
  t.teardown(() => spawnSync('ip', ['link', 'set', link, 'up']));
  const slot = async () => {
    const [walStatus, retained] = (await sql(`SELECT wal_status, coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, -1) FROM pg_replication_slots WHERE slot_name = 'ironclad_pitr'`, 'postgres')).split('|');
    return { walStatus, retained: Number(retained) };
  };
  const pgWalBytes = async () => Number((await lab.sshOk('pt-db', 'du -sb /var/lib/postgresql/15/main/pg_wal | cut -f1')).trim());
  /** WAL written on pt-db: `mb` megabytes of incompressible rows in their own table, then a checkpoint. */
  const writeWal = (name: string, mb: number) => sql(`CREATE TABLE ${name} AS SELECT md5(g::text) || md5((g * 7)::text) || repeat(md5(random()::text), 12) AS v FROM generate_series(1, ${mb * 2300}) g; CHECKPOINT;`);

  await t.test('apply turns continuous archiving on by default, and a second apply changes nothing of it', async (t) => {
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(r.stdout, /take the first base backup of pt-db/);
    const s = (await until('a recovery window', async () => { const x = await status(); return x.earliest && x.archiving ? x : undefined; }, 60)).value;
    t.match(s, { host: 'pt-db', cluster: '15/main', archiving: true, gap: false, receiver: true, bases: 1 });
    t.match(s.earliest, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'ISO 8601 UTC');
    const plan = JSON.parse((await ironclad([...inv, '--json', 'plan'])).stdout);
    const pitr = plan.hosts.flatMap((h: { host: string; changes: { operation: string; description: string }[] }) => h.changes.filter((c) => c.operation === 'pitr').map((c) => `${h.host}: ${c.description}`));
    t.same(pitr, [], 'nothing left to change');
    const hba = await lab.sshOk('pt-db', 'cat /etc/postgresql/15/main/pg_hba.conf');
    t.match(hba, new RegExp(`^host\treplication\tironclad_wal\t${reText(lab.host('pt-store').address)}/32\tscram-sha-256$`, 'm'), 'replication for the store\'s address alone');
    t.notMatch(await lab.sshOk('pt-db', 'grep -rl ironclad_wal /var/lib/ironclad /etc/cron.d 2>/dev/null; true'), /\S/, 'the database host holds no credential of the archiving role');
  });

  /** Each pg_receivewal on pt-store as /proc says: `PID REAL_UID/EFFECTIVE_UID NO_NEW_PRIVS USER`. */
  const receivers = async () => (await lab.sshOk('pt-store', String.raw`for p in $(pgrep -x pg_receivewal); do echo "$p $(awk '/^Uid:/ { print $2 "/" $3 }' /proc/$p/status) $(awk '/^NoNewPrivs:/ { print $2 }' /proc/$p/status) $(ps -o user= -p $p)"; done`)).trim().split('\n').filter(Boolean);
  await t.test('on the store pg_receivewal runs as pt-db\'s own user, never root; a spool root made is handed over by the next apply, planned', async (t) => {
    const USER = 'ironclad-pitr-pt-db'; // (one user per database host: pitrUser)
    const uid = (await lab.sshOk('pt-store', `id -u ${USER}`)).trim();
    const asUser = new RegExp(`^\\d+ ${uid}/${uid} 1 ${USER}$`);
    t.equal((await lab.sshOk('pt-store', `getent passwd ${USER} | cut -d: -f7`)).trim(), '/usr/sbin/nologin', 'a system user with no shell');
    const first = await receivers();
    t.match(first, [asUser], `one pg_receivewal, as ${USER} (uid ${uid}), no new privileges: ${first.join('; ')}`);
    t.equal(first.length, 1);
    t.equal((await lab.sshOk('pt-store', 'stat -c "%U %a" /run/ironclad-pitr/pt-db /run/ironclad-pitr/.state/pt-db/pgpass')).trim(), `${USER} 700\n${USER} 400`, 'its spool and its copy of the password: its alone');
    const pw = (await lab.sshOk('pt-store', 'cut -d: -f5 /var/lib/ironclad/pitr/pt-db.pgpass')).trim();
    t.ok(pw.length >= 32, 'the password as the store holds it');
    const seen = await lab.sshOk('pt-store', String.raw`for p in $(pgrep -f 'pg_receivewal|pg_basebackup|ironclad-pitr'); do tr '\0' ' ' < /proc/$p/cmdline; echo; done; cat /run/ironclad-pitr/.state/pt-db/log /var/log/ironclad-pitr.log 2>/dev/null; true`);
    t.ok(seen.includes('pg_receivewal') && !seen.includes(pw), 'the password is in no command line and no log');
    // a store from before: its receiver ran as root, in a spool of root's holding root's own files
    await until('a segment archived (its placeholder named)', async () => (await lab.ssh('pt-store', 'test -s /run/ironclad-pitr/.state/pt-db/placeholder')).code === 0, 30);
    await lab.sshOk('pt-store', 'p=$(cat /run/ironclad-pitr/pt-db.pid) && kill "$p"; flock -w 30 /run/ironclad-pitr/pt-db.lock true; cd /run/ironclad-pitr && mv .state/pt-db/placeholder pt-db/.placeholder && mv .state/pt-db/log pt-db/.log && chown -R root:root pt-db && chmod 700 pt-db');
    const plan = JSON.parse((await ironclad([...inv, '--json', 'plan'])).stdout) as { hosts: { host: string; changes: { operation: string; description: string }[] }[] };
    const store = plan.hosts.find((h) => h.host === 'pt-store')!.changes.filter((c) => c.operation === 'pitr').map((c) => c.description);
    t.match(store, [/^start the WAL receiver of pt-db now \(cron keeps it running\); the spool of pt-db \(now root's\) goes to ironclad-pitr-pt-db$/], `planned: ${store.join(' | ')}`);
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    const after = (await until('pg_receivewal again', async () => { const x = await receivers(); return x.length === 1 && x; }, 30)).value;
    t.match(after, [asUser], `as ${USER} again: ${after.join('; ')}`);
    const handed = await lab.sshOk('pt-store', 'cd /run/ironclad-pitr && stat -c "%U %a" pt-db; find pt-db ! -user ironclad-pitr-pt-db | wc -l; ls pt-db/.placeholder pt-db/.log 2>/dev/null | wc -l; test -s .state/pt-db/placeholder && echo placeholder kept');
    t.equal(handed.trim(), `${USER} 700\n0\n0\nplaceholder kept`, "the spool handed over whole; root's own files moved out of it");
    const again = JSON.parse((await ironclad([...inv, '--json', 'plan'])).stdout) as typeof plan;
    t.same(again.hosts.flatMap((h) => h.changes.filter((c) => c.operation === 'pitr').map((c) => `${h.host}: ${c.description}`)), [], 'then nothing left to change');
    await sql('SELECT pg_switch_wal();', 'postgres');
    const s = (await until('archiving, with no gap', async () => { const x = await status(); return x.archiving && x; }, 60)).value;
    t.equal(s.gap, false, 'no gap');
  });

  let committedAfter = '';
  await t.test('a row committed on production is in the recovery window within 60 s', async (t) => {
    committedAfter = await sql(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await sql(`CREATE TABLE marks(v text); INSERT INTO marks VALUES ('${MARKER}');`);
    const { value, seconds } = await until('latest past the commit', async () => { const s = await status(); return s.latest && s.latest >= committedAfter ? s : undefined; }, 60);
    t.ok(seconds <= 60, `in the window after ${seconds.toFixed(1)} s (latest ${value.latest}, committed after ${committedAfter})`);
    t.ok(value.lag_s !== null && value.lag_s < 60, `lag ${value.lag_s} s`);
  });

  await t.test('pitr base --host pt-db takes a base backup now', async (t) => {
    const before = (await status()).bases;
    const r = await ironclad([...inv, 'pitr', 'base', '--host', 'pt-db']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^pt-db: base backup \d{8}T\d{6}Z on pt-store \([\d.]+ MB encrypted, WAL [0-9A-F]+\/[0-9A-F]+\.\.[0-9A-F]+\/[0-9A-F]+\) in [\d.]+ s$/m);
    t.equal((await status()).bases, before + 1);
    const json = JSON.parse((await ironclad([...inv, '--json', 'pitr', 'base', '--host', 'pt-db'])).stdout);
    t.match(json, { host: 'pt-db', store: 'pt-store', ok: true, id: /^\d{8}T\d{6}Z$/ });
    const bad = await ironclad([...inv, 'pitr', 'base', '--host', 'pt-stage']);
    t.equal(bad.code, 2, 'a host that does not archive: bad input');
  });

  await t.test('nothing plaintext on the store\'s disk: the marker is in no file pt-store wrote', async (t) => {
    await sql('SELECT pg_switch_wal();', 'postgres');
    await until('the marker\'s segment archived', async () => (await lab.sshOk('pt-store', 'ls /srv/ironclad/backups/pitr/pt-db/wal | wc -l')).trim() !== '0', 30);
    const upper = lab.host('pt-store').upper;
    const r = spawnSync('grep', ['-rlas', MARKER, upper]);
    t.equal(r.stdout.toString(), '', `no file under the store's own layer (${upper}) holds it`);
    const inside = await lab.ssh('pt-store', `grep -rlas ${MARKER} /srv/ironclad /var; true`);
    t.equal(inside.stdout.trim(), '', 'nor ROOT or /var as the store sees them');
    t.match(await lab.sshOk('pt-store', 'head -c 21 "$(ls -d /srv/ironclad/backups/pitr/pt-db/wal/* | head -n 1)"'), /^age-encryption\.org\/v1/, 'segments are age files');
  });

  await t.test('the store cut off for a while: archiving catches up when it returns; the slot keeps pg_wal within its bound', async (t) => {
    cut();
    let last = '';
    try {
      await writeWal('while_away', 24);
      last = await sql(`INSERT INTO marks VALUES ('away') RETURNING to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
      await sleep(35_000); // the receiver notices the dead link (keepalives) and retries meanwhile
      const s = await slot();
      t.ok(s.retained > 20 * MB && s.retained <= 64 * MB + 16 * MB, `the slot keeps what the store has not received: ${(s.retained / MB).toFixed(1)} MB (bound 64MB)`);
      t.not(s.walStatus, 'lost');
    } finally {
      mend();
    }
    const { seconds, value } = await until('latest past the last commit made while away', async () => { const s = await status(); return s.latest && s.latest >= last.slice(0, 26) ? s : undefined; }, 120);
    t.ok(true, `caught up ${seconds.toFixed(1)} s after the link came back`);
    t.match(value, { archiving: true, gap: false }, 'no gap');
  });

  await t.test('the store\'s health check: exit 3 naming pt-db once the receiver has been stopped longer than pitr.stall (30s)', async (t) => {
    t.equal((await lab.ssh('pt-store', '/usr/local/sbin/ironclad-pitr health --no-alert')).code, 0, 'healthy while it runs');
    await lab.sshOk('pt-store', 'kill "$(cat /run/ironclad-pitr/pt-db.pid)"');
    await sleep(40_000);
    const h = await lab.ssh('pt-store', '/usr/local/sbin/ironclad-pitr health --no-alert');
    t.equal(h.code, 3, h.stdout + h.stderr);
    t.match(h.stdout, /^late pt-db: receiver not running; no WAL for \d+ s;/m);
    const s = await status();
    t.equal(s.archiving, false);
    t.equal(s.code, 3, 'pitr status exits 3 while a cluster is not archiving');
    const again = await ironclad([...inv, 'apply', '--yes']);
    t.match(again.stdout, /start the WAL receiver of pt-db now/, 'apply starts it again (cron does where a cron daemon runs)');
    await until('archiving again', async () => (await status()).archiving, 60);
  });

  await t.test('a cut longer than the bound: production drops the slot\'s WAL, never its disk; the store makes the slot again and a new base', async (t) => {
    cut();
    try {
      const started = Date.now();
      await writeWal('past_bound', 160);
      await sql('CHECKPOINT;', 'postgres');
      const took = (Date.now() - started) / 1000;
      t.ok(took < 120, `the checkpoints did not wait for the dead store's walsender (${took.toFixed(0)} s; tcp_user_timeout ends it in ~30 s)`);
      const s = await slot();
      t.equal(s.walStatus, 'lost', 'PostgreSQL gave the WAL up rather than keep it');
      const wal = await pgWalBytes();
      t.ok(wal <= (64 + 64 + 48) * MB, `pg_wal ${(wal / MB).toFixed(0)} MB <= max_slot_wal_keep_size 64MB + max_wal_size 64MB + 3 segments, after 160 MB written`);
    } finally {
      mend();
    }
    const { value } = await until('a new window', async () => { const s = await status(); return s.archiving && s.gap ? s : undefined; }, 150);
    t.ok(value.bases >= 4, `a new base backup after the gap (${value.bases} bases)`);
    const h = await lab.ssh('pt-store', '/usr/local/sbin/ironclad-pitr health --no-alert');
    t.equal(h.code, 3, 'health names the gap');
    t.match(h.stdout, /late pt-db: .*a gap in the WAL/);
    t.match(await lab.sshOk('pt-store', 'cat /var/log/ironclad-pitr.log 2>/dev/null; true'), /the slot lost WAL the store had not received/, 'alerted');
  });

  await t.test('the receiver dies with its lab host', async (t) => {
    // (this slot's lab only: another slot's pt-store runs a receiver of the same name)
    const mine = `${planLab(loadInventory(INVENTORY)).stateDir}/`;
    const root = (p: string) => { try { return readlinkSync(`/proc/${p}/root`); } catch { return ''; } };
    const pids = spawnSync('pgrep', ['-f', 'ironclad-pitr receive pt-db'], { encoding: 'utf8' }).stdout.trim().split('\n').filter((p) => p && root(p).startsWith(mine));
    t.ok(pids.length >= 1, `running (${pids.join(', ')})`);
    await labDown(planLab(loadInventory(INVENTORY)));
    await sleep(1000);
    t.same(pids.filter((p) => existsSync(`/proc/${p}`)), [], 'gone after lab down');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
