// End to end on lab hosts: backups that refuse to be empty or wrong, survive failures, and never lose older ones.
import t from 'tap';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab, type LabHandle } from './helpers/lab.js';

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../fixtures/tmp.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const TOTAL = 'SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM events) + (SELECT count(*) FROM orders) + (SELECT count(*) FROM payment_methods) + (SELECT count(*) FROM sessions)';

async function main() {
  const lab = await withLab(t);
  const inv = ['-i', LAB_INVENTORY];
  const psql = (host: string, sql: string) => lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d app"`, { stdin: `SET ROLE app;\n${sql}` });
  const run = () => ironclad([...inv, 'backup', 'run', '--host', 'db-prod']);
  const list = async () => JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups as { id: string; rows: number; tables: number; verified: boolean }[];
  const storeSums = () => lab.sshOk('backup-far', 'cd /srv/ironclad/backups && find db-prod -type f | sort | xargs sha256sum');
  const alerts = () => lab.ssh('db-prod', 'cat /var/log/ironclad-alerts.log 2>/dev/null').then((r) => r.stdout);

  let total = 0;
  await t.test('the lab provisioned and seeded', async (t) => {
    const applied = await ironclad([...inv, 'apply', '--yes']);
    t.equal(applied.code, 0, 'apply converges the lab', { output: applied.stdout + applied.stderr });
    await psql('db-prod', SEED);
    total = Number((await psql('db-prod', TOTAL)).trim());
    t.ok(total > 5000, `seeded ${total} rows`);
  });

  await t.test('a good backup: listed with its tables and rows, restore drill passes', async (t) => {
    const r = await run();
    t.equal(r.code, 0, r.stderr);
    const [b] = await list();
    t.match(b, { host: 'db-prod', database: 'app', tables: 5, rows: total, verified: false });
    t.match(b.id, /^\d{8}T\d{6}Z-db-prod-app$/);
    const v = await ironclad([...inv, 'backup', 'verify', '--latest', '--restore']);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, /OK \(restore drill passed/);
    t.equal((await list())[0].verified, true);
  });

  await t.test('the post-mortem: an empty instance on the configured port is refused and alerted', async (t) => {
    const before = await storeSums();
    await lab.sshOk('db-prod', 'pg_ctlcluster --skip-systemctl-redirect 15 main stop && pg_createcluster -p 5432 15 rogue >/dev/null && pg_ctlcluster --skip-systemctl-redirect 15 rogue start');
    const r = await run();
    t.equal(r.code, 3, 'refused');
    t.match(r.stderr, /port 5432 is answered by another data directory/);
    t.match(await alerts(), /ironclad backup of db-prod refused: the single-instance check failed/);
    t.equal(await storeSums(), before, 'the store is untouched');
    await lab.sshOk('db-prod', 'pg_dropcluster --stop 15 rogue && pg_ctlcluster --skip-systemctl-redirect 15 main start');
  });

  await t.test('a second instance beside the configured one: refused by the gate that ran beside the dump, which is stopped and its upload discarded', async (t) => {
    const before = await storeSums();
    await lab.sshOk('db-prod', 'pg_createcluster -p 5439 15 extra >/dev/null && pg_ctlcluster --skip-systemctl-redirect 15 extra start');
    try {
      const r = await run();
      t.equal(r.code, 3, 'refused');
      t.match(r.stderr, /a second PostgreSQL is running/);
      t.match(await alerts(), /ironclad backup of db-prod refused: the single-instance check failed/);
      t.equal(await storeSums(), before, 'the store is untouched');
      t.equal((await lab.sshOk('backup-far', 'ls -A /srv/ironclad/backups/incoming/db-prod')).trim(), '', 'nothing of the dump left in incoming/');
      t.equal((await lab.ssh('db-prod', 'pgrep -x pg_dump')).code, 1, 'no pg_dump left running');
      t.not((await lab.ssh('db-prod', 'ls /var/lib/ironclad/backup-work/*/SHA256SUMS')).code, 0, 'no dump left on the host that a later run would resume as a backup');
    } finally {
      await lab.sshOk('db-prod', 'pg_dropcluster --stop 15 extra');
    }
  });

  await t.test('tables truncated in production: refused by the shrink rule', async (t) => {
    const before = await storeSums();
    await psql('db-prod', 'TRUNCATE events, orders;');
    const r = await run();
    t.equal(r.code, 3);
    const left = Number((await psql('db-prod', TOTAL)).trim());
    t.match(r.stderr, new RegExp(`rows fell from ${total} to ${left} since the last good backup, more than expect.max_shrink=0.5`));
    t.equal(await storeSums(), before);
    t.equal((await lab.sshOk('backup-far', 'ls -A /srv/ironclad/backups/incoming/db-prod')).trim(), '', 'the refused dump, uploaded as it was written, is discarded from the store');
    await psql('db-prod', 'DROP TABLE users, events, orders, payment_methods, sessions;\n' + SEED);
  });

  await t.test('backup host unreachable: a clear failure, nothing counted, the next run succeeds', async (t) => {
    const count = (await list()).length;
    const link = lab.host('backup-far').link;
    await lab.sshOk('db-prod', 'true');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ip', ['link', 'set', link, 'down']);
    let r;
    try {
      r = await run();
    } finally {
      execFileSync('ip', ['link', 'set', link, 'up']);
    }
    t.equal(r.code, 1);
    t.match(r.stderr, /cannot ask the store|shipping .* failed/);
    t.equal((await list()).length, count, 'nothing half-written counted as a backup');
    const again = await run();
    t.equal(again.code, 0, again.stderr);
    t.equal((await list()).length, count + 1);
  });

  await t.test('an upload stopped midway resumes from its partial file on the next run', async (t) => {
    const count = (await list()).length;
    await psql('db-prod', "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) AS junk FROM generate_series(1, 120000) g;");
    const link = lab.host('backup-far').link;
    const { execFileSync } = await import('node:child_process');
    execFileSync('tc', ['qdisc', 'add', 'dev', link, 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms']);
    let stopped;
    try {
      const running = run();
      // the dump is complete and being sent: stop the job there (as a reboot or a killed job would)
      const partial = "find /srv/ironclad/backups/incoming/db-prod -path '*/.partial/dump.pgdump.age' -size +20k | head -n 1";
      let seen = '';
      for (let i = 0; i < 150 && !seen; i++) {
        const dumped = (await lab.ssh('db-prod', 'ls /var/lib/ironclad/backup-work/*/SHA256SUMS')).code === 0;
        seen = dumped ? (await lab.sshOk('backup-far', partial)).trim() : '';
        if (!seen) await new Promise((r) => setTimeout(r, 200));
      }
      t.ok(seen, `a partial upload on the store: ${seen}`);
      await lab.ssh('db-prod', 'pkill -TERM -f /usr/local/sbin/ironclad-backup');
      stopped = await running;
    } finally {
      execFileSync('tc', ['qdisc', 'del', 'dev', link, 'root']);
    }
    t.equal(stopped.code, 1, 'the stopped run failed');
    t.equal((await list()).length, count, 'nothing half-sent counted as a backup');
    const again = await run();
    t.equal(again.code, 0, again.stderr);
    t.match(again.stderr, /resuming the transfer of \S+/);
    t.equal((await list()).length, count + 2, 'the resumed backup and a new one');
    t.equal((await ironclad([...inv, 'backup', 'verify', '--latest'])).code, 0, 'checksums verified');
    await psql('db-prod', 'DROP TABLE bulk;');
  });

  await t.test('a file corrupted in the store: verify fails and names it', async (t) => {
    const [latest, older] = await list();
    await lab.sshOk('backup-far', `f=/srv/ironclad/backups/db-prod/app/${latest.id}/data/dump.pgdump.age; chmod u+w "$f"; b=$(od -An -tu1 -j200 -N1 "$f" | tr -d ' '); printf "\\\\$(printf %o $(( (b + 1) % 256 )))" | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null`); // (a byte changed for sure: never the same byte written back)
    const v = await ironclad([...inv, 'backup', 'verify', '--id', latest.id]);
    t.equal(v.code, 3);
    t.match(v.stdout, /checksum mismatch: dump\.pgdump\.age/);
    const ok = await ironclad([...inv, 'backup', 'verify', '--id', older.id]);
    t.equal(ok.code, 0, 'older backups are intact');
  });

  await t.test("the store's disk full: a clear failure, older backups untouched", async (t) => {
    await psql('db-prod', "CREATE TABLE blobs AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS junk FROM generate_series(1, 60000) g;");
    const before = await storeSums();
    const count = (await list()).length;
    await lab.sshOk('backup-far', 'mount -t tmpfs -o size=256k tmpfs /srv/ironclad/backups/incoming/db-prod && chown ironclad-backup: /srv/ironclad/backups/incoming/db-prod && chmod 700 /srv/ironclad/backups/incoming/db-prod');
    let r;
    try {
      r = await run();
    } finally {
      await lab.sshOk('backup-far', 'umount /srv/ironclad/backups/incoming/db-prod');
    }
    t.equal(r.code, 1);
    t.match(r.stderr, /shipping .* failed .*(No space left|write failed|error in file IO)/s);
    t.equal(await storeSums(), before, 'older backups untouched');
    t.equal((await list()).length, count);
    const again = await run();
    t.equal(again.code, 0, `the next run succeeds: ${again.stderr}`);
  });

  await t.test('a directory-format backup: dumped, shipped by rsync, committed and proven by a restore drill', async (t) => {
    const dir = tempDir('ironclad-directory-');
    mkdirSync(join(dir, 'scrub'));
    copyFileSync(new URL('../../inventory/scrub/app.yaml', import.meta.url), join(dir, 'scrub', 'app.yaml'));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, readFileSync(LAB_INVENTORY, 'utf8').replace('      databases: [app]\n', '      databases: [app]\n      format: directory\n'));
    const directory = ['-i', file];
    t.equal((await ironclad([...directory, 'apply', '--yes'])).code, 0, 'apply renders the job for the directory format');
    const count = (await list()).length;
    const r = await ironclad([...directory, 'backup', 'run', '--host', 'db-prod']);
    t.equal(r.code, 0, r.stderr);
    const [b] = await list();
    t.equal((await list()).length, count + 1);
    t.match(await lab.sshOk('backup-far', `ls /srv/ironclad/backups/db-prod/app/${b.id}/data`), /dump\.tar\.age/, 'a directory dump in the store, encrypted as one archive');
    const v = await ironclad([...directory, 'backup', 'verify', '--latest', '--restore']);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, /OK \(restore drill passed/);
    t.equal((await ironclad([...inv, 'apply', '--yes'])).code, 0, 'back to the custom format');
  });

  await t.test("the database host's key cannot delete or overwrite a backup", async (t) => {
    const [latest] = await list();
    const before = await storeSums();
    const as = `ssh -i /var/lib/ironclad/backup_ed25519 -o BatchMode=yes -o UserKnownHostsFile=/var/lib/ironclad/known_hosts ironclad-backup@${lab.host('backup-far').address}`;
    const rm = await lab.ssh('db-prod', `${as} rm -rf /srv/ironclad/backups`);
    t.not(rm.code, 0);
    t.match(rm.stderr, /this key may only add backups/);
    const del = await lab.ssh('db-prod', `mkdir -p /tmp/e && rsync -a --delete -e "${as.replace(/ ironclad-backup@.*/, '')}" /tmp/e/ ironclad-backup@${lab.host('backup-far').address}:../db-prod/app/`);
    t.not(del.code, 0, 'rsync --delete refused');
    const escape = await lab.ssh('db-prod', `echo evil > /tmp/e/dump.pgdump && rsync -a -e "${as.replace(/ ironclad-backup@.*/, '')}" /tmp/e/ ironclad-backup@${lab.host('backup-far').address}:../db-prod/app/${latest.id}/`);
    t.not(escape.code, 0, 'writing outside incoming/ refused');
    const put = await lab.ssh('db-prod', `echo evil | ${as} put ../db-prod/app/${latest.id} dump.pgdump 5`);
    t.not(put.code, 0, 'put outside incoming/ refused');
    t.match(put.stderr, /bad name/);
    const dup = await lab.ssh('db-prod', `${as} commit ${latest.id} app`);
    t.not(dup.code, 0, 'commit of an existing id refused');
    t.match(dup.stderr, /no upload named/);
    t.equal(await storeSums(), before, 'every backup is byte for byte as it was');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
