// End to end on lab hosts: the vault tried as a hostile database host would (root there, with every key it holds), as
// the application's role (it names tables), with a lying clock, and with a shell as the store's upload account.
// Afterwards every genuine backup is listed, restorable, and the refresh restores the genuine data.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab } from './helpers/lab.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const ROOT = '/srv/ironclad/backups';
// tables any application may name: quotes, slashes, a sed program, spaces, '#', a newline, Unicode
const HOSTILE = ['x/id>\\/root\\/PWNED #/e;#', 'it\'s "quoted"', 'with space', 'new\nline', 'Zürich ✓', 'tab\there'];
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
// the application's role owns schema public: an operator there that matches exactly wins over pg_catalog's, and runs
// a program when a superuser calls it (found in review: the row counts of the job and the drill used it)
const HIJACK = `CREATE FUNCTION public.cat(name, name) RETURNS text LANGUAGE plpgsql AS $$ BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch /var/tmp/PWNED-op'''; END IF;
  RETURN $1::text || $2::text; END $$;
CREATE OPERATOR public.|| (LEFTARG = name, RIGHTARG = name, FUNCTION = public.cat);`;

async function main() {
  const lab = await withLab(t);
  const inv = ['-i', LAB_INVENTORY];
  const psql = (sql: string) => lab.sshOk('db-prod', 'cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d app"', { stdin: `SET ROLE app;\n${sql}` });
  const list = async () => JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups as { id: string; rows: number; verified: boolean; encrypted: boolean; time: string }[];
  const storeSums = () => lab.sshOk('backup-far', `cd ${ROOT} && find db-prod -type f | sort | xargs sha256sum`);
  const store = lab.host('backup-far').address;
  const key = (k: string) => `ssh -i /var/lib/ironclad/${k} -o BatchMode=yes -o UserKnownHostsFile=/var/lib/ironclad/known_hosts`;
  const asDb = `${key('backup_ed25519')} ironclad-backup@${store}`;
  const genuine: string[] = [];

  await t.test('the lab provisioned, seeded with hostile table names, backed up and drilled', async (t) => {
    t.equal((await ironclad([...inv, 'apply', '--yes'])).code, 0);
    await psql(SEED + HOSTILE.map((n, i) => `CREATE TABLE ${ident(n)} (i int); INSERT INTO ${ident(n)} SELECT generate_series(1, ${i + 1});`).join('\n') + HIJACK);
    const r = await ironclad([...inv, 'backup', 'run', '--host', 'db-prod']);
    t.equal(r.code, 0, r.stderr);
    const v = await ironclad([...inv, 'backup', 'verify', '--latest', '--restore']);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, /OK \(restore drill passed/, 'every hostile name dumped, counted and restored, compared as exact strings');
    const [b] = await list();
    t.match(b, { encrypted: true, verified: true, rows: Number((await psql('SELECT sum(n) FROM (SELECT count(*) n FROM users UNION ALL SELECT count(*) FROM events UNION ALL SELECT count(*) FROM orders UNION ALL SELECT count(*) FROM payment_methods UNION ALL SELECT count(*) FROM sessions) s')).trim()) + 21 });
    genuine.push(b.id);
    for (const h of ['backup-far', 'staging', 'db-prod']) t.equal((await lab.ssh(h, 'ls /root/PWNED /var/tmp/PWNED-op')).code, 2, `nothing ran on ${h}`);
  });

  await t.test('the store holds no plaintext: no PGDMP header, no schema text, no table name', async (t) => {
    const found = await lab.sshOk('backup-far', `grep -rlaE 'PGDMP|CREATE TABLE|payment_methods|PWNED' ${ROOT}/db-prod || true`);
    t.equal(found.trim(), '', 'nothing readable in the store');
    t.equal((await lab.sshOk('backup-far', `find ${ROOT} -name '*identity*' -o -name 'AGE-SECRET-KEY*'; grep -rl AGE-SECRET-KEY ${ROOT} /var/lib/ironclad-backup /var/lib/ironclad 2>/dev/null || true`)).trim(), '', 'and no private key');
  });

  await t.test("the database host's key: no shell, no symlink, no other host's area, no forged backup", async (t) => {
    const before = await storeSums();
    const login = await lab.ssh('db-prod', `${asDb} /bin/sh -c id`);
    t.not(login.code, 0, 'no command but the store\'s verbs');
    t.notMatch(login.stdout, /uid=/);
    // the symlink that gave a shell before: upload incoming/k -> the account's .ssh, then put a key through it
    await lab.sshOk('db-prod', 'rm -rf /tmp/up && mkdir -p /tmp/up/k && ln -s /var/lib/ironclad-backup/.ssh /tmp/up/k/ssh && rm -f /tmp/evil /tmp/evil.pub && ssh-keygen -q -t ed25519 -N "" -f /tmp/evil');
    await lab.ssh('db-prod', `rsync -a -e "${key('backup_ed25519')}" /tmp/up/ ironclad-backup@${store}:`);
    const through = await lab.ssh('db-prod', `${asDb} put k/ssh authorized_keys2 100 < /tmp/evil.pub`);
    t.not(through.code, 0, 'put does not follow a path through the upload');
    await lab.ssh('db-prod', `${asDb} put k authorized_keys2 $(stat -c %s /tmp/evil.pub) < /tmp/evil.pub`);
    t.equal((await lab.ssh('backup-far', 'ls /var/lib/ironclad-backup/.ssh/authorized_keys2')).code, 2, 'no authorized_keys2 on the store');
    const evil = await lab.ssh('db-prod', `ssh -i /tmp/evil -o BatchMode=yes -o UserKnownHostsFile=/var/lib/ironclad/known_hosts ironclad-backup@${store} id`);
    t.not(evil.code, 0, 'a key of its own does not get in');
    const linked = await lab.ssh('db-prod', `${asDb} commit k app`);
    t.equal(linked.code, 3, 'an upload holding a symlink is refused');
    t.match(linked.stderr, /plain files/);
    // forgeries through the real key: another host's name, a path as an id, a verified.json of its own
    await lab.sshOk('db-prod', `cd /tmp && printf '{"format":2,"host":"staging"}' > m && sha256sum m | sed 's/ m$/ manifest.json/' > s && ${asDb} put f1 manifest.json $(stat -c %s m) < m && ${asDb} put f1 SHA256SUMS $(stat -c %s s) < s`);
    t.equal((await lab.ssh('db-prod', `${asDb} commit f1 app`)).code, 3, 'a manifest of another host or shape is refused');
    t.match((await lab.ssh('db-prod', `${asDb} commit zzzz/../../../../etc/x app`)).stderr, /bad name/);
    t.match((await lab.ssh('db-prod', `${asDb} put ../staging/x f 1 < /dev/null`)).stderr, /bad name/);
    t.match((await lab.ssh('db-prod', `${asDb} last ../../etc`)).stderr, /bad name/);
    t.match((await lab.ssh('db-prod', `${key('refresh_ed25519')} ironclad-backup@${store} files staging app x`)).stderr, /may not read backups of staging/, 'its read key reads its own backups only');
    t.equal(await storeSums(), before, 'every committed backup is byte for byte as it was');
  });

  await t.test('a clock that says 2099: the store gives ids and times of its own; retention keeps the history', async (t) => {
    await lab.sshOk('db-prod', 'cp /usr/bin/date /usr/local/bin/date.real && printf \'#!/bin/sh\\ncase "$*" in *-d*) exec /usr/local/bin/date.real "$@";; esac\\nexec /usr/local/bin/date.real -d "+73 years" "$@"\\n\' > /usr/bin/date && chmod 755 /usr/bin/date && date +%Y');
    try {
      t.match(await lab.sshOk('db-prod', 'date +%Y'), /^2099/);
      for (let i = 0; i < 3; i++) t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, `run ${i + 1} with the clock in 2099`);
    } finally {
      await lab.sshOk('db-prod', 'cp /usr/local/bin/date.real /usr/bin/date && rm -f /usr/local/bin/date.real');
    }
    const all = await list();
    t.ok(all.every((b) => !b.id.startsWith('2099') && !b.time.startsWith('2099')), 'no 2099 id or time in the catalog');
    const pruned = await lab.sshOk('backup-far', '/usr/local/sbin/ironclad-store prune db-prod 1 0 0');
    t.match(pruned, /keep db-prod\/app\//, 'root runs retention over SSH (it is not mistaken for a forced command)');
    const after = (await list()).map((b) => b.id);
    for (const id of genuine) t.ok(after.includes(id), `the genuine ${id} is still there`);
    const dry = await lab.sshOk('backup-far', '/usr/local/sbin/ironclad-store prune db-prod 1 0 0 --dry-run');
    t.notMatch(dry, /removed/, 'a dry run shows the plan only');
  });

  await t.test('a shell as the upload account cannot delete, change or add a way in', async (t) => {
    const before = await storeSums();
    const as = (script: string) => lab.ssh('backup-far', `cd / && runuser -u ironclad-backup -- sh -c ${JSON.stringify(script).replace(/\$/g, '\\$')}`);
    const tries = [
      `rm -rf ${ROOT}/db-prod`,
      `chmod -R u+w ${ROOT}/db-prod`,
      `for f in ${ROOT}/db-prod/app/*/data/*; do echo x >> "$f"; done`,
      `mv ${ROOT}/db-prod ${ROOT}/incoming/db-prod/stolen`,
      'echo ssh-ed25519 AAAA x >> /var/lib/ironclad-backup/.ssh/authorized_keys',
      'touch /var/lib/ironclad-backup/.ssh/authorized_keys2',
      `sudo -n /usr/local/sbin/ironclad-store prune db-prod 0 0 0`,
      'sudo -n /bin/sh -c id',
    ];
    for (const attempt of tries) t.not((await as(attempt)).code, 0, `refused: ${attempt}`);
    t.equal(await storeSums(), before, 'every committed backup is byte for byte as it was');
  });

  await t.test('the store checks itself: health by its own clock, a free-space floor before any upload', async (t) => {
    const health = await lab.ssh('backup-far', '/usr/local/sbin/ironclad-store health --no-alert');
    t.equal(health.code, 0, health.stdout + health.stderr);
    t.match(health.stdout, /^ok db-prod\/app: newest /m);
    const full = (await lab.sshOk('backup-far', 'cat /usr/local/sbin/ironclad-store')).replace(/^MIN_FREE=.*$/m, "MIN_FREE='100%'");
    await lab.sshOk('backup-far', 'cp /usr/local/sbin/ironclad-store /tmp/store.keep && cat > /usr/local/sbin/ironclad-store', { stdin: full });
    try {
      const r = await ironclad([...inv, 'backup', 'run', '--host', 'db-prod']);
      t.equal(r.code, 1);
      t.match(r.stderr, /would keep less than 100% free/, 'refused before the upload starts, and said why');
    } finally {
      await lab.sshOk('backup-far', 'cp /tmp/store.keep /usr/local/sbin/ironclad-store');
    }
  });

  await t.test('an offline break-glass key in the inventory restores with no host left; a target gets 0600 files in a 0700 folder', async (t) => {
    const { execFileSync } = await import('node:child_process');
    const { copyFileSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('../fixtures/tmp.js');
    const dir = tempDir('ironclad-breakglass-');
    execFileSync('age-keygen', ['-o', join(dir, 'offline.key')], { stdio: 'ignore' });
    const offline = execFileSync('age-keygen', ['-y', join(dir, 'offline.key')], { encoding: 'utf8' }).trim();
    mkdirSync(join(dir, 'scrub'));
    copyFileSync(new URL('../../inventory/scrub/app.yaml', import.meta.url), join(dir, 'scrub', 'app.yaml'));
    const file = join(dir, 'lab.yaml');
    writeFileSync(file, readFileSync(LAB_INVENTORY, 'utf8').replace('      databases: [app]\n', `      databases: [app]\n      recipients: [${offline}]\n`));
    try {
      t.equal((await ironclad(['-i', file, 'apply', '--yes'])).code, 0);
      t.match(await lab.sshOk('db-prod', 'cat /var/lib/ironclad/backup-recipients'), new RegExp(`# from the inventory\\n${offline}`));
      t.equal((await ironclad(['-i', file, 'backup', 'run', '--host', 'db-prod'])).code, 0);
      const [b] = await list();
      const cipher = await lab.sshOk('backup-far', `base64 -w0 ${ROOT}/db-prod/app/${b.id}/data/dump.pgdump.age`);
      const plain = execFileSync('age', ['-d', '-i', join(dir, 'offline.key')], { input: Buffer.from(cipher, 'base64') });
      t.equal(plain.subarray(0, 5).toString(), 'PGDMP', 'decrypted on a machine that is none of the hosts');
      // the fetch a refresh uses, run on staging by hand: what it leaves is readable by its owner only
      const { fetchScript } = await import('../../src/backup/fetch.js');
      const store = lab.inventory.hosts.find((h) => h.name === 'backup-far')!;
      // one connection to the store for the list and every file (the store's sshd logs each login in its boot log)
      const storeLog = lab.plan.hosts.find((h) => h.name === 'backup-far')!.logFile;
      const from = `Accepted publickey for ${store.backup_store!.user} from ${lab.inventory.hosts.find((h) => h.name === 'staging')!.address} `;
      const logins = () => readFileSync(storeLog, 'utf8').split('\n').filter((l) => l.startsWith(from)).length;
      const before = logins();
      const fetched = await lab.sshOk('staging', fetchScript({ store, entry: { host: 'db-prod', database: 'app', id: b.id } as never, dir: '/var/lib/ironclad/refresh/modes-test', owner: 'postgres:' }));
      t.match(fetched, /^@@counts \{"tables":/m);
      t.equal(logins() - before, 1, 'one login on the store for the whole fetch (the list, then each file)');
      const leftBehind = "ls -a /var/lib/ironclad/refresh | grep -F .fetch- ; pgrep -af '[C]ontrolPath=/var/lib/ironclad/refresh' || true"; // ([C]: not this command itself)
      t.equal(await lab.sshOk('staging', leftBehind), '', 'the connection and its socket are gone once the fetch is done');
      const modes = await lab.sshOk('staging', "stat -c '%a %U %n' /var/lib/ironclad/refresh/modes-test /var/lib/ironclad/refresh/modes-test/*; ls /var/lib/ironclad/refresh/modes-test");
      t.match(modes, /^700 postgres \/var\/lib\/ironclad\/refresh\/modes-test$/m);
      t.notMatch(modes, /^(?!700|600)\d+ /m, 'every file 0600, the folder 0700');
      t.notMatch(modes, /\.age$/m, 'the ciphertext is not kept beside the plaintext');
      const refused = await lab.ssh('staging', fetchScript({ store, entry: { host: 'db-prod', database: 'app', id: 'no-such-backup' } as never, dir: '/var/lib/ironclad/refresh/gone-test', owner: 'postgres:' }));
      t.not(refused.code, 0);
      t.equal((await lab.ssh('staging', 'ls /var/lib/ironclad/refresh/gone-test')).code, 2, 'a failed fetch leaves no folder behind');
      t.equal(await lab.sshOk('staging', leftBehind), '', 'nor a connection to the store');
    } finally {
      await lab.ssh('staging', 'rm -rf /var/lib/ironclad/refresh/modes-test');
      await ironclad([...inv, 'apply', '--yes']);
    }
  });

  await t.test('two refreshes into one host: one read key and one identity for that host, apply converges', async (t) => {
    const { copyFileSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tempDir } = await import('../fixtures/tmp.js');
    const dir = tempDir('ironclad-two-refreshes-');
    mkdirSync(join(dir, 'scrub'));
    copyFileSync(new URL('../../inventory/scrub/app.yaml', import.meta.url), join(dir, 'scrub', 'app.yaml'));
    const text = readFileSync(LAB_INVENTORY, 'utf8');
    const second = text.slice(text.indexOf('\n  staging:\n', text.indexOf('\nrefresh:')) + 1).replace(/^ {2}staging:/m, '  staging-two:');
    writeFileSync(join(dir, 'lab.yaml'), `${text.trimEnd()}\n${second}`);
    const r = await ironclad(['-i', join(dir, 'lab.yaml'), 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.equal((await ironclad(['-i', join(dir, 'lab.yaml'), 'plan'])).stdout.match(/refresh_ed25519|age-identity/g), null, 'nothing left to do for the keys');
    t.equal((await lab.sshOk('backup-far', 'grep -c ironclad-read-by-staging /var/lib/ironclad-backup/.ssh/authorized_keys')).trim(), '1', 'one read key line for staging');
  });

  await t.test('a backup taken before encryption (the old layout, owned by the upload account) stays readable and is adopted', async (t) => {
    const id = '20261101T021500Z-db-prod-app';
    const counts = (await lab.sshOk('db-prod', 'cd / && su postgres -c "psql -X -A -t -q -F \'\t\' -d app"', { stdin: readFileSync('src/backup/counts.sql', 'utf8') })).trim().split('\t');
    const dump = await lab.sshOk('db-prod', "cd / && su postgres -c 'pg_dump -Fc app' | base64 -w0");
    const dir = `${ROOT}/db-prod/app/${id}`;
    await lab.sshOk('backup-far', `mkdir -p ${dir} && cd ${dir} && base64 -d > dump.pgdump && s=$(sha256sum dump.pgdump | cut -d' ' -f1) && printf '{"id":"${id}","host":"db-prod","database":"app","cluster":"15/main","system_identifier":"1","server_version":"15","format":"custom","started_at":"2026-11-01T02:15:00Z","finished_at":"2026-11-01T02:16:00Z","tables":%s,"rows":%s,"bytes":%s,"newest_event":null,"row_counts":%s,"files":{"dump.pgdump":"%s"}}\\n' ${counts[1]} ${counts[2]} $(stat -c %s dump.pgdump) '${counts[3].replace(/'/g, `'\\''`)}' "$s" > manifest.json && sha256sum dump.pgdump manifest.json > SHA256SUMS && chown -R ironclad-backup: ${dir} && chmod -R a-w ${dir}`, { stdin: dump });
    const plan = await ironclad([...inv, 'plan']);
    t.match(plan.stdout, /FOREIGN \/srv\/ironclad\/backups\/db-prod/, 'plan says the old backup will become root\'s');
    t.equal((await ironclad([...inv, 'apply', '--yes'])).code, 0);
    t.equal((await lab.sshOk('backup-far', `stat -c %U ${dir}/dump.pgdump`)).trim(), 'root', 'adopted: root owns it now');
    const old = (await list()).find((b) => b.id === id);
    t.match(old, { encrypted: false, verified: false });
    const v = await ironclad([...inv, 'backup', 'verify', '--id', id, '--restore']);
    t.equal(v.code, 0, v.stdout + v.stderr);
    t.match(v.stdout, /OK \(restore drill passed/, 'restored and counted on the drill host like any other');
  });

  await t.test('after all that: every genuine backup restores, and the refresh brings the genuine data', async (t) => {
    const v = await ironclad([...inv, 'backup', 'verify', '--id', genuine[0], '--restore']);
    t.equal(v.code, 0, v.stdout + v.stderr);
    const r = await ironclad([...inv, 'refresh', 'staging', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    const tables = await lab.sshOk('staging', 'cd / && su postgres -c "psql -X -A -t -d app -c \\"SELECT count(*) FROM pg_tables WHERE schemaname = \'public\'\\""');
    t.equal(Number(tables.trim()), 5 + HOSTILE.length, 'every table, the hostile names too');
    t.equal((await lab.ssh('staging', 'find /var/lib/ironclad/refresh -mindepth 1 -maxdepth 1 -type d')).stdout.trim(), '', 'the copied backup is gone from staging');
    for (const h of ['backup-far', 'staging', 'db-prod']) t.equal((await lab.ssh(h, 'ls /root/PWNED /var/tmp/PWNED-op')).code, 2, `nothing ran on ${h}`);
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
