// End to end on lab hosts whose pid 1 is systemd (inventory/lab-systemd.yaml plus a staging host, an image pair and
// schedules every minute): what systemd runs besides the backup timer (test/e2e/systemd.test.ts). The store's WAL
// receiver runs as ironclad-pitr-receive@HOST.service (pg_receivewal as the host's own user, never root) and systemd
// restarts it when it is killed; the amcheck timer and the routine image check's timer fire on their own and the
// audit reads their records; a staging refresh overwrites a cluster that runs under postgresql@15-main and leaves it
// running under its unit. Needs root on Linux, systemd-nspawn and debootstrap; the lab is always taken down afterwards.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { AuditReport, Finding } from '../../src/audit/types.js';
import { tempDir } from '../fixtures/tmp.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, SYSTEMD_LAB_INVENTORY, withLab } from './helpers/lab.js';
import { firesAgainScript, waitFor } from './helpers/wait.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const EVERY_MINUTE = '*-*-* *:*:00';

/** The systemd lab with a staging host (refreshed from sd-db), an image pair sd-db -> sd-store checked every minute,
 *  and amcheck every minute on sd-db; the scrub rules are the lab's own. */
function testInventory(): string {
  const dir = tempDir('ironclad-systemd-jobs-');
  const doc = YAML.parse(readFileSync(SYSTEMD_LAB_INVENTORY, 'utf8'));
  const db = doc.hosts['sd-db'];
  const net = (db.address as string).replace(/\.\d+$/, '');
  db.postgres.amcheck = { schedule: EVERY_MINUTE };
  doc.hosts['sd-staging'] = {
    address: `${net}.20`,
    tags: ['lab-systemd', 'staging'],
    postgres: {
      cluster: 'main', port: 5432, listen: ['127.0.0.1', `${net}.20`],
      databases: [{ name: 'app', owner: 'app' }],
      roles: [{ name: 'app', login: true, password: { file: db.postgres.roles[0].password.file.replace(/app\.pw$/, 'staging.pw') } }],
    },
  };
  doc.images = [{ name: 'uploads', source: { host: 'sd-db', path: '/srv/app/uploads' }, replica: { host: 'sd-store', path: '/srv/ironclad/images/uploads' }, check: { schedule: EVERY_MINUTE, days: 1 } }];
  doc.refresh = {
    staging: {
      from: { host: 'sd-db', database: 'app' },
      to: { host: 'sd-staging', database: 'app' },
      scrub: './scrub/app.yaml',
      promote: { accounts: ['dev@example.com'], sql: "UPDATE users SET role = 'admin' WHERE email = ANY(:accounts)" },
    },
  };
  mkdirSync(join(dir, 'scrub'));
  copyFileSync(new URL('../../inventory/scrub/app.yaml', import.meta.url), join(dir, 'scrub', 'app.yaml'));
  writeFileSync(join(dir, 'lab-systemd.yaml'), YAML.stringify(doc));
  return join(dir, 'lab-systemd.yaml');
}

async function main() {
  const inventoryFile = testInventory();
  const inv = ['-i', inventoryFile];
  const lab = await withLab(t, { inventoryFile });
  t.comment(`lab up: ${lab.up.hosts.map((h) => `${h.host} ${h.action}`).join(', ')} in ${(lab.up.durationMs / 1000).toFixed(1)}s`);
  const sh = (host: string, script: string) => lab.sshOk(host, script).then((s) => s.trim());
  const sql = (host: string, text: string, db = 'app') => lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text }).then((s) => s.trim());
  const audit = async () => (JSON.parse((await ironclad([...inv, '--json', 'audit'])).stdout) as AuditReport).hosts.flatMap((h) => h.findings);
  const until = async <T>(what: string, fn: () => Promise<T | undefined | false>, seconds: number): Promise<T> => (await waitFor(what, fn, seconds)).value;
  /** Wait until a timer's service has run once more, from start to end, after this call: its Result and status. */
  const firesAgain = (host: string, unit: string, seconds: number) => lab.sshOk(host, firesAgainScript(unit, { busySeconds: 150, seconds, properties: ['Result', 'ExecMainStatus'] }));
  /** A timer's default accuracy is a minute; a drop-in narrows it to a second so that it fires within the test. */
  const narrow = (host: string, unit: string) =>
    lab.sshOk(host, `mkdir -p /etc/systemd/system/${unit}.timer.d && printf '[Timer]\\nAccuracySec=1s\\n' > /etc/systemd/system/${unit}.timer.d/test.conf && systemctl daemon-reload && systemctl restart ${unit}.timer`);
  const receiver = 'ironclad-pitr-receive@sd-db.service';

  await t.test('apply: the receiver, the amcheck timer and the image check timer are systemd units, enabled', async (t) => {
    await lab.sshOk('sd-db', 'mkdir -p /srv/app/uploads && for i in 1 2 3 4 5; do head -c 300000 /dev/urandom > /srv/app/uploads/img$i.jpg; done');
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, `apply\n${r.stdout}\n${r.stderr}`);
    t.equal(await sh('sd-store', `systemctl is-enabled ${receiver}; systemctl is-active ${receiver}`), 'enabled\nactive', 'the WAL receiver runs under its unit');
    t.equal(await sh('sd-db', 'systemctl is-enabled ironclad-amcheck.timer; systemctl is-active ironclad-amcheck.timer'), 'enabled\nactive', 'amcheck timer');
    t.equal(await sh('sd-store', 'systemctl is-enabled ironclad-images-check-uploads.timer; systemctl is-active ironclad-images-check-uploads.timer'), 'enabled\nactive', 'image check timer, on the replica');
    t.equal(await sh('sd-store', 'ls /etc/cron.d/ironclad-images-check-uploads 2>/dev/null || echo none'), 'none', 'and no cron entry beside it');
    t.equal(await sh('sd-staging', 'systemctl is-active postgresql@15-main'), 'active', 'staging runs its cluster under its unit');
    const plan = JSON.parse((await ironclad([...inv, '--json', 'plan'])).stdout) as { hosts: { host: string; changes: { description: string }[] }[] };
    t.same(plan.hosts.flatMap((h) => h.changes.map((c) => `${h.host}: ${c.description}`)), [], 'a second apply would change nothing');
  });

  await t.test('the store receives WAL under systemd; a killed receiver is restarted by systemd and catches up', async (t) => {
    const latest = async () => {
      const r = await ironclad([...inv, '--json', 'pitr', 'status', '--host', 'sd-db']);
      return (JSON.parse(r.stdout).clusters[0] as { latest: string | null; receiver: boolean }).latest;
    };
    const committed = async (mark: string) => {
      await sql('sd-db', `SET ROLE app; CREATE TABLE IF NOT EXISTS marks (m text, at timestamptz DEFAULT now()); INSERT INTO marks (m) VALUES ('${mark}'); RESET ROLE; SELECT pg_switch_wal();`);
      return new Date(await sql('sd-db', `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM marks WHERE m = '${mark}'`)).getTime();
    };
    const inWindow = async (at: number) => until('the row in the recovery window', async () => { const l = await latest(); return l !== null && new Date(l).getTime() >= at ? l : undefined; }, 60);
    t.ok(await inWindow(await committed('one')), 'a row committed on sd-db is restorable within 60 s');
    const pid = await sh('sd-store', `systemctl show -P MainPID ${receiver}`);
    t.not(pid, '0', 'the unit has a main process');
    await lab.sshOk('sd-store', `kill -9 ${pid}`);
    const again = await until('systemd restarts the receiver', async () => {
      const [active, now] = (await sh('sd-store', `systemctl is-active ${receiver} || true; systemctl show -P MainPID ${receiver}`)).split('\n');
      return active === 'active' && now !== '0' && now !== pid ? now : undefined;
    }, 30);
    t.ok(again, `restarted by systemd (main process ${pid} -> ${again})`);
    t.ok(await inWindow(await committed('two')), 'and the window grows again');
    const uid = await sh('sd-store', 'id -u ironclad-pitr-sd-db');
    t.equal(await sh('sd-store', String.raw`for p in $(pgrep -x pg_receivewal); do awk '/^Uid:/ { print $2 "/" $3 }' /proc/$p/status; done`), `${uid}/${uid}`, 'under systemd too, the one pg_receivewal runs as sd-db\'s own user, never root');
  });

  await t.test('the amcheck and image check timers fire on their own; the audit reads their records', async (t) => {
    await lab.sshOk('sd-db', 'cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -v rows=50 -d app"', { stdin: SEED });
    await lab.sshOk('sd-store', 'mkdir -p /srv/ironclad/images/uploads'); // (a repair never makes the replica's root: a mistyped path is refused)
    const repaired = await ironclad([...inv, 'images', 'repair', 'uploads', '--yes']);
    t.equal(repaired.code, 0, `the replica made by a first repair\n${repaired.stdout}${repaired.stderr}`);
    for (const [host, unit] of [['sd-db', 'ironclad-amcheck'], ['sd-store', 'ironclad-images-check-uploads']] as const) {
      await narrow(host, unit);
      const ran = await firesAgain(host, unit, 100);
      const journal = /Result=success/.test(ran) ? '' : await sh(host, `journalctl -u ${unit}.service --no-pager -n 30 -o cat || true`);
      t.match(ran, /Result=success/, `${unit}: its timer started it and it succeeded\n${ran}\n${journal}`);
      t.match(ran, /ExecMainStatus=0/);
    }
    const findings = await audit();
    t.comment(findings.filter((f) => f.level !== 'ok').map((f) => `${f.host} ${f.area} ${f.subject ?? ''}: ${f.level}: ${f.message}`).join('\n'));
    t.match(findings.find((f) => f.area === 'images' && f.subject === 'uploads'), { level: 'ok', message: /^100% verified within 1 days/ }, "the audit reads the timer's image check");
    const integrity = findings.filter((f: Finding) => f.host === 'sd-db' && (f.area as string) === 'integrity');
    t.ok(integrity.length > 0 && integrity.every((f) => f.level === 'ok'), `the audit's integrity lines are ok: ${integrity.map((f) => `${f.subject}: ${f.message}`).join('; ')}`);
    const unknown = findings.filter((f) => (f.area as string) === 'unknown');
    t.same(unknown.map((f) => `${f.host}: ${f.level}: ${f.message}`), ['sd-db', 'sd-store', 'sd-staging'].map((h) => `${h}: ok: nothing here that the inventory does not know`), 'no unit or timer of ironclad is an unknown job to the audit');
  });

  await t.test('a staging refresh overwrites a cluster systemd runs, and leaves it running under its unit', async (t) => {
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'sd-db'])).code, 0, 'backup');
    const verified = await ironclad([...inv, 'backup', 'verify', '--latest', '--restore']);
    t.equal(verified.code, 0, `verified by a restore drill\n${verified.stdout}${verified.stderr}`);
    const before = await sh('sd-staging', 'systemctl show -P MainPID postgresql@15-main');
    const r = await ironclad([...inv, '--yes', 'refresh', 'staging']);
    t.equal(r.code, 0, `refresh\n${r.stdout}\n${r.stderr}`);
    t.equal(await sh('sd-staging', 'systemctl is-active postgresql@15-main'), 'active', 'the cluster is still under its unit');
    const pid = await sh('sd-staging', 'systemctl show -P MainPID postgresql@15-main');
    t.equal(await sh('sd-staging', 'head -n 1 /var/lib/postgresql/15/main/postmaster.pid'), pid, "the unit's main process is the postmaster that serves the refreshed database");
    t.comment(`staging's postmaster ${before} -> ${pid}`);
    t.equal(await sql('sd-staging', "SELECT count(*) FROM users"), await sql('sd-db', 'SELECT count(*) FROM users'), "production's rows");
    t.equal(await sql('sd-staging', "SELECT string_agg(email || ':' || role, ',') FROM users WHERE role = 'admin'"), 'dev@example.com:admin', 'the listed account is admin');
    const census = await ironclad([...inv, '--limit', 'sd-staging', 'check', 'instances']);
    t.equal(census.code, 0, `one instance on staging after the refresh\n${census.stdout}${census.stderr}`);
  });
}

const unavailable = labUnavailable();
if (unavailable) t.plan(0, `systemd lab hosts: ${unavailable}`);
else await main();
