// End to end on lab hosts (issue 18): one heap page of a table overwritten on disk while its cluster (with data
// checksums) is stopped; the next backup refuses (exit 3), names the table (a hostile name, quoted) and the block, and
// says which backup is the last one committed before the corruption was first seen. Nothing of it reaches the store.
// Its own lab (test/fixtures/corruption-backup/lab.yaml: bridge iclcb, 10.213.43.0/24), always taken down afterwards.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { labDown } from '../../src/lab/down.js';
import { planLab } from '../../src/lab/plan.js';
import { tempDir } from '../fixtures/tmp.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, otherLeases, slotFile, withLab } from './helpers/lab.js';

const INVENTORY = slotFile(fileURLToPath(new URL('../fixtures/corruption-backup/lab.yaml', import.meta.url)));
const SECRET = join(planLab(loadInventory(INVENTORY)).stateDir, 'secrets/app.pw');
const PGC = 'pg_ctlcluster --skip-systemctl-redirect 15 main';
const BIN = '/usr/lib/postgresql/15/bin';
// the damaged table's name is the application's data: a shell expansion in it must stay text everywhere
const TABLE = 'orders $(touch /tmp/cb-pwned)';
const QUOTED = '"orders $(touch /tmp/cb-pwned)"';

async function main() {
  if (!existsSync(SECRET)) {
    mkdirSync(dirname(SECRET), { recursive: true, mode: 0o700 });
    writeFileSync(SECRET, `cb-${process.pid}-${Date.now()}\n`, { mode: 0o600 });
  }
  await labDown(planLab(loadInventory(INVENTORY))); // from nothing, whatever an earlier run left
  const lab = await withLab(t, { inventoryFile: INVENTORY });
  // (a copy of the inventory in a scratch folder: what apply keeps beside it, the estate's CA, stays out of the tree)
  const file = join(tempDir('ironclad-cb-'), 'lab.yaml');
  copyFileSync(INVENTORY, file);
  const inv = ['-i', file];
  const sql = (text: string) => lab.sshOk('cb-db', 'cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d app"', { stdin: text });
  const run = () => ironclad([...inv, 'backup', 'run', '--host', 'cb-db']);
  const list = async () => JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups as { id: string }[];
  const committed = () => lab.sshOk('cb-store', 'cd /srv/ironclad/backups && find cb-db -type f | sort | xargs -r sha256sum');
  const incoming = () => lab.sshOk('cb-store', 'find /srv/ironclad/backups/incoming/cb-db -mindepth 1');
  const status = async () => JSON.parse(await lab.sshOk('cb-db', 'cat /var/lib/ironclad/backup-status.json'));

  let good = '';
  await t.test('a cluster with data checksums, two tables, a good backup', async (t) => {
    const applied = await ironclad([...inv, 'apply', '--yes']);
    t.equal(applied.code, 0, applied.stdout + applied.stderr);
    if ((await sql('SHOW data_checksums;')).trim() !== 'on')
      await lab.sshOk('cb-db', `cd / && ${PGC} stop && su postgres -c "${BIN}/pg_checksums --enable -D /var/lib/postgresql/15/main" >/dev/null && ${PGC} start`);
    t.equal((await sql('SHOW data_checksums;')).trim(), 'on', 'data checksums on');
    await sql(`SET ROLE app;
CREATE TABLE customers AS SELECT g AS id, 'customer ' || g AS name FROM generate_series(1, 2000) g;
CREATE TABLE ${JSON.stringify(TABLE)} AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS note FROM generate_series(1, 20000) g;`);
    const r = await run();
    t.equal(r.code, 0, r.stderr);
    const backups = await list();
    t.equal(backups.length, 1);
    good = backups[0].id;
  });

  await t.test('one heap page overwritten on disk: the backup refuses (exit 3), names table and block and the last good backup', async (t) => {
    const path = (await sql(`SELECT current_setting('data_directory') || '/' || pg_relation_filepath(format('public.%I', '${TABLE.replace(/'/g, "''")}')::regclass);`)).trim();
    t.match(path, /^\/var\/lib\/postgresql\/15\/main\/base\/\d+\/\d+$/, `the table's file: ${path}`);
    await lab.sshOk('cb-db', `cd / && ${PGC} stop && dd if=/dev/urandom of=${path} bs=8192 seek=1 count=1 conv=notrunc status=none && ${PGC} start`);
    const before = await committed();
    const r = await run();
    t.equal(r.code, 3, `refused: ${r.stderr}`);
    t.match(r.stdout, /backup REFUSED \(exit 3\)/);
    t.match(r.stderr, /CORRUPTION: the dump hit damaged data in /);
    t.ok(r.stderr.includes(`public.${QUOTED}, block 1 (`), `the table, quoted as PostgreSQL quotes it, and the block: ${r.stderr}`);
    t.match(r.stderr, /invalid page in block 1 of relation base\/\d+\/\d+/, "the server's own words");
    t.ok(r.stderr.includes(`the last backup committed before: ${good} (committed `), 'the last backup before it');
    t.notMatch(r.stderr, /invalid snapshot identifier/, 'not the snapshot error that hid the cause');
    const s = await status();
    t.match(s, { state: 'refused', exit: 3, corruption: { database: 'app', relation: `public.${QUOTED}`, block: 1, last_good_backup: good } });
    t.match(await lab.sshOk('cb-db', 'cat /var/log/ironclad-alerts.log'), /ironclad backup of cb-db refused: app: CORRUPTION: the dump hit damaged data in public\."orders \$\(touch \/tmp\/cb-pwned\)", block 1/);
    t.equal((await lab.ssh('cb-db', 'test -e /tmp/cb-pwned')).code, 1, 'the name ran nowhere');
    t.equal(await committed(), before, 'nothing committed on the store');
    t.equal((await incoming()).trim(), '', 'its upload discarded');
    t.equal((await list()).length, 1);

    const again = await run();
    t.equal(again.code, 3, 'refused again on the next run');
    const s2 = await status();
    t.equal(s2.corruption.first_seen, s.corruption.first_seen, 'first seen: the first run that saw it');
    t.equal(s2.corruption.last_good_backup, good, 'still the last backup before it');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else if (otherLeases(planLab(loadInventory(INVENTORY))).length) t.plan(0, 'the corruption lab is in use by another test process');
else await main();
