// Corruption end to end on lab hosts of its own (prefix cr-, 10.213.18.0/24): a cluster apply makes has data checksums;
// one without them is named by plan and gets them through the enable-checksums runbook (typed confirmation, --yes
// here); one heap page of a table overwritten on disk while the cluster is stopped turns the audit red naming the
// table and block, and the corruption runbook names the last backup taken before it; an overwritten index page is
// found by the scheduled amcheck job (run here directly, as its cron would) and turns its audit line red.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { AuditReport, Finding } from '../../src/audit/types.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, slotText, withLab } from './helpers/lab.js';

const STATE = '/var/lib/ironclad-lab-cr'; // slot 1's (slotText moves it for this process's slot)
const tmp = mkdtempSync(join(tmpdir(), 'ironclad-cr-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

function inventory(): string {
  const file = join(tmp, 'cr.yaml');
  writeFileSync(
    file,
    slotText(`version: 1
lab: { bridge: iclcr, subnet: 10.213.18.0/24, state_dir: ${STATE} }
defaults:
  ssh: { user: root, port: 22, identity_file: ${STATE}/id_ed25519, known_hosts: ${STATE}/known_hosts }
  postgres: { version: 15 }
hosts:
  cr-db:
    address: 10.213.18.10
    tags: [production]
    postgres:
      cluster: main
      port: 5432
      listen: [127.0.0.1, 10.213.18.10]
      roles: [{ name: app, login: true }]
      databases: [{ name: app, owner: app }]
    backup:
      to: cr-store
      databases: [app]
      schedule: "*-*-* 02:15:00"
      retention: { daily: 14, weekly: 8, monthly: 6 }
      expect: { min_tables: 1, max_shrink: 0.5 }
      alert: { command: "logger -t ironclad -s 2>>/var/log/ironclad-alerts.log" }
  cr-store:
    address: 10.213.18.12
    tags: [backup]
    backup_store: { path: /srv/ironclad/backups, user: ironclad-backup }
`),
  );
  return file;
}

async function main() {
  const file = inventory();
  const inv = ['-i', file];
  const lab = await withLab(t, { inventoryFile: file });
  const sql = async (text: string, db = 'app') => (await lab.sshOk('cr-db', `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text })).trim();
  const ctl = (action: string) => lab.sshOk('cr-db', `pg_ctlcluster --skip-systemctl-redirect 15 main ${action}`);
  /** Overwrite 21 bytes inside page `block` of a relation's file, with the cluster stopped (the page header stays). */
  const damage = async (relation: string, block: number) => {
    const path = `/var/lib/postgresql/15/main/${await sql(`SELECT pg_relation_filepath('${relation}')`)}`;
    await sql('CHECKPOINT');
    await ctl('stop');
    await lab.sshOk('cr-db', `printf 'CORRUPTCORRUPTCORRUPT' | dd of=${path} bs=1 seek=${8192 * block + 300} conv=notrunc 2>/dev/null`);
    await ctl('start');
  };
  const audit = async () => {
    const r = await ironclad([...inv, '--json', 'audit']);
    const report = JSON.parse(r.stdout) as AuditReport;
    return { code: r.code, findings: report.hosts.flatMap((h) => h.findings).filter((f: Finding) => f.host === 'cr-db' && (f.area as string) === 'integrity') };
  };
  const line = (fs: Finding[], subject: string) => fs.find((f) => f.subject === subject);

  await t.test('apply makes the cluster with data checksums and installs the amcheck job', async (t) => {
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.equal(await sql('SHOW data_checksums', 'postgres'), 'on');
    const facts = JSON.parse((await ironclad([...inv, '--json', 'facts', 'cr-db'])).stdout);
    t.match(facts.hosts[0].facts.integrity.clusters, [{ version: 15, cluster: 'main', checksums: 'on' }], 'a fact');
    t.match(await lab.sshOk('cr-db', 'cat /etc/cron.d/ironclad-amcheck'), /^30 3 \* \* 0 root \/usr\/local\/sbin\/ironclad-amcheck/m, 'weekly by default on a production host');
    t.equal((await ironclad([...inv, 'apply', '--yes'])).stdout.includes('cr-db: ok, nothing to change'), true, 'a second apply changes nothing');
  });

  await t.test('a cluster without checksums: plan says so with the downtime; the runbook enables them', async (t) => {
    await ctl('stop');
    await lab.sshOk('cr-db', "cd / && su postgres -c '/usr/lib/postgresql/15/bin/pg_checksums --disable -D /var/lib/postgresql/15/main' >/dev/null");
    await ctl('start');
    const plan = JSON.parse((await ironclad([...inv, '--json', 'plan'])).stdout);
    const change = plan.hosts.find((h: { host: string }) => h.host === 'cr-db').changes.find((c: { operation: string }) => c.operation === 'checksums');
    t.match(change?.description, /data checksums are OFF on 15\/main.*of downtime for .*runbooks\/enable-checksums\.yaml --set host=cr-db/);
    const dry = await ironclad([...inv, 'runbook', 'run', 'runbooks/enable-checksums.yaml', '--set', 'host=cr-db', '--dry-run']);
    t.equal(dry.code, 0);
    t.match(dry.stdout, /destructive: needs confirmation\] \(type 'cr-db', or --yes\)/);
    t.equal(await sql('SHOW data_checksums', 'postgres'), 'off', 'a dry run changes nothing');
    const declined = await ironclad([...inv, 'runbook', 'run', 'runbooks/enable-checksums.yaml', '--set', 'host=cr-db']);
    t.equal(declined.code, 3, 'no terminal and no --yes: refused');
    t.equal(await sql('SHOW data_checksums', 'postgres'), 'off');
    const run = await ironclad([...inv, '--yes', 'runbook', 'run', 'runbooks/enable-checksums.yaml', '--set', 'host=cr-db']);
    t.equal(run.code, 0, run.stdout + run.stderr);
    t.match(run.stdout, /enabling them: about .* of downtime for .* at .*\/s \(measured\)/, "the disk measured");
    t.match(run.stdout, /the cluster was down \d+ s; SHOW data_checksums: on/);
    t.equal(await sql('SHOW data_checksums', 'postgres'), 'on');
  });

  let backupId = '';
  await t.test('a backup, then a clean audit and a clean amcheck', async (t) => {
    await sql("CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, repeat('x', 60) FROM generate_series(1, 5000) g; CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 20000)");
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'cr-db'])).code, 0, 'backup');
    backupId = JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups[0].id;
    const job = await lab.ssh('cr-db', '/usr/local/sbin/ironclad-amcheck');
    t.equal(job.code, 0, job.stderr);
    t.notMatch((await lab.ssh('cr-db', 'cat /var/log/ironclad-alerts.log')).stdout, /amcheck/, 'no alert when clean');
    const a = await audit();
    t.equal(line(a.findings, 'damage 15/main')?.level, 'ok');
    t.equal(line(a.findings, 'checksums 15/main')?.level, 'ok');
    t.match(line(a.findings, 'amcheck'), { level: 'ok', message: /no corruption found/ });
  });

  await t.test('one heap page overwritten: the audit turns red naming the table; the runbook names the backup before', async (t) => {
    await new Promise((r) => setTimeout(r, 1100)); // the damage is seen after the backup's commit second
    await damage('orders', 1);
    const read = await lab.ssh('cr-db', `cd / && su postgres -c "psql -X -d app -c 'SELECT count(*) FROM orders'"`);
    t.match(read.stderr, /invalid page in block 1 of relation/, 'the read fails on the damaged page');
    const a = await audit();
    t.equal(a.code, 3);
    const d = line(a.findings, 'damage 15/main');
    t.equal(d?.level, 'failure');
    t.match(d?.message, /^CORRUPTION on 15\/main: "public"\."orders" in database "app" block 1 \(first seen /);
    t.match(d?.details.join('\n'), /1 checksum failure in database "app"/);
    const rb = await ironclad([...inv, 'runbook', 'run', 'runbooks/corruption.yaml', '--set', 'host=cr-db']);
    t.equal(rb.code, 0, rb.stdout + rb.stderr);
    t.match(rb.stdout, /DAMAGED: table "public"\."orders" in database "app", block 1 \(log, /);
    t.match(rb.stdout, new RegExp(`app: newest backup before the damage: ${backupId} `));
    t.match(rb.stdout, /ironclad pitr restore --host cr-db --time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ --to /);
    const dry = await ironclad([...inv, 'runbook', 'run', 'runbooks/corruption.yaml', '--set', 'host=cr-db', '--dry-run']);
    t.equal(dry.code, 0);
    t.match(dry.stdout, /last-backup/);
  });

  await t.test('the table restored from that backup beside the live one; a recorded repair turns the line green', async (t) => {
    const rb = await ironclad([...inv, 'runbook', 'run', 'runbooks/corruption.yaml', '--set', 'host=cr-db', '--set', 'table=public.orders']);
    t.equal(rb.code, 0, rb.stdout + rb.stderr);
    t.match(rb.stdout, new RegExp(`"public"\\."orders" from ${backupId} is in database app__rescue: 5000 rows, beside the live one`));
    t.equal(await sql('SELECT count(*) FROM orders', 'app__rescue'), '5000', 'every row, the damaged page\'s included');
    t.equal((await lab.sshOk('cr-db', 'ls /var/lib/ironclad/integrity')).includes('rescue-'), false, 'the copy of the backup is gone');
    t.equal(line((await audit()).findings, 'damage 15/main')?.level, 'failure', 'still red: nobody said it is repaired');
    const done = await ironclad([...inv, 'runbook', 'run', 'runbooks/corruption.yaml', '--set', 'host=cr-db', '--set', 'repaired=yes']);
    t.equal(done.code, 0, done.stdout + done.stderr);
    t.match(done.stdout, /cr-db: repair recorded at /);
    t.equal(line((await audit()).findings, 'damage 15/main')?.level, 'ok', 'damage before the recorded repair is history');
  });

  await t.test('one index page overwritten: amcheck finds it and the audit names the index', async (t) => {
    await damage('items_pkey', 1);
    const job = await lab.ssh('cr-db', '/usr/local/sbin/ironclad-amcheck');
    t.equal(job.code, 3, 'the job exits 3 on corruption');
    const a = await audit();
    const am = line(a.findings, 'amcheck');
    t.equal(am?.level, 'failure');
    t.match(am?.message, /CORRUPTION found by amcheck.*index "app\.public\.items_pkey"/);
    t.match(am?.details.join('\n'), /index "app\.public\.items_pkey" block 1/);
    t.match(await lab.sshOk('cr-db', 'cat /var/log/ironclad-alerts.log'), /ironclad amcheck of cr-db: corrupt: .*btree index "app\.public\.items_pkey"/, 'the alert names it');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
