// End to end on lab hosts: provisioning from bare packages, logins with the secrets, idempotence, diffs, refusals.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab } from './helpers/lab.js';
import { tempDir } from '../fixtures/tmp.js';

function variant(edit: (s: string) => string): string {
  const dir = tempDir('ironclad-prov-');
  writeFileSync(join(dir, 'lab.yaml'), edit(readFileSync(LAB_INVENTORY, 'utf8')).replace('./scrub/app.yaml', join(process.cwd(), 'inventory/scrub/app.yaml')));
  return join(dir, 'lab.yaml');
}

async function main() {
  const lab = await withLab(t);
  const inv = ['-i', LAB_INVENTORY];
  const db = lab.host('db-prod').address;

  await t.test('a fresh host without Postgres packages is provisioned from the local package cache', async (t) => {
    await lab.sshOk('db-prod', 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q postgresql-15 postgresql-client-15 >/dev/null 2>&1; ! dpkg -s postgresql-15 >/dev/null 2>&1');
    const plan = await ironclad([...inv, '--limit', 'db-prod', 'plan']);
    t.equal(plan.code, 0);
    t.match(plan.stdout, /packages\s+install postgresql-15, postgresql-client-15/);
    t.match(plan.stdout, /nothing was written/);
    t.equal((await lab.ssh('db-prod', 'dpkg -s postgresql-15')).code, 1, 'plan wrote nothing');
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, 'apply', { output: r.stdout + r.stderr });
    t.match(await lab.sshOk('db-prod', 'pg_lsclusters -h'), /^15 main 5432 online/m);
    t.match(await lab.sshOk('db-prod', 'cat /var/lib/ironclad/identity.json'), /"system_identifier":"\d+"/);
  });

  await t.test('roles log in over TCP with their secrets; databases exist with their owners', async (t) => {
    for (const role of ['app', 'reporting']) {
      const pw = readFileSync(join(lab.plan.stateDir, `secrets/${role}.pw`), 'utf8').trim();
      const out = execFileSync('psql', ['-X', '-A', '-t', '-h', db, '-U', role, '-d', 'app', '-c', 'SELECT current_user'], { env: { ...process.env, PGPASSWORD: pw } }).toString().trim();
      t.equal(out, role);
    }
    t.throws(() => execFileSync('psql', ['-X', '-h', db, '-U', 'app', '-d', 'app', '-c', 'SELECT 1'], { env: { ...process.env, PGPASSWORD: 'wrong' }, stdio: 'pipe' }), 'a wrong password is refused');
    t.equal((await lab.sshOk('db-prod', `cd / && su postgres -c "psql -XAtc \\"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'\\""`)).trim(), 'app');
  });

  await t.test('a second apply changes nothing', async (t) => {
    const r = await ironclad([...inv, '--json', 'apply', '--yes']);
    t.equal(r.code, 0);
    t.same(JSON.parse(r.stdout).hosts.map((h: { host: string; changes: unknown[] }) => [h.host, h.changes.length]), [['db-prod', 0], ['app-prod', 0], ['backup-far', 0], ['staging', 0]]);
  });

  await t.test('without systemd the server runs as pg_ctlcluster starts it; a server that cannot start shows its log', async (t) => {
    const psql = (sql: string) => lab.sshOk('db-prod', `cd / && su postgres -c "psql -XAtc '${sql}'"`);
    t.equal((await psql('SHOW config_file')).trim(), '/etc/postgresql/15/main/postgresql.conf');
    t.equal((await psql('SHOW external_pid_file')).trim(), '/var/run/postgresql/15-main.pid');
    t.match(await lab.sshOk('db-prod', 'pg_ctlcluster 15 main status'), /server is running/);
    t.match(await lab.sshOk('db-prod', 'cat /var/log/postgresql/postgresql-15-main.log'), /database system is ready to accept connections/, 'it logs where pg_ctlcluster logs');
    await lab.sshOk('db-prod', 'pg_ctlcluster --skip-systemctl-redirect 15 main stop && echo "shared_buffers = banana" > /etc/postgresql/15/main/conf.d/zz-broken.conf');
    const r = await ironclad([...inv, '--limit', 'db-prod', 'apply', '--yes']);
    t.equal(r.code, 1, 'the start failed');
    t.match(r.stdout + r.stderr, /the server did not start; the end of \/var\/log\/postgresql\/postgresql-15-main\.log/);
    t.match(r.stdout + r.stderr, /invalid value for parameter "shared_buffers": "banana"/);
    await lab.sshOk('db-prod', 'rm /etc/postgresql/15/main/conf.d/zz-broken.conf');
    const again = await ironclad([...inv, '--limit', 'db-prod', 'apply', '--yes']);
    t.equal(again.code, 0, again.stdout + again.stderr);
    t.match(await lab.sshOk('db-prod', 'pg_lsclusters -h'), /^15 main 5432 online/m);
  });

  await t.test('a changed setting shows as a diff in plan; apply restarts only when confirmed', async (t) => {
    const changed = variant((s) => s.replace('shared_buffers: 128MB', 'shared_buffers: 64MB'));
    const plan = await ironclad(['-i', changed, '--limit', 'db-prod', 'plan']);
    t.match(plan.stdout, /- shared_buffers = '128MB'\n\s+\+ shared_buffers = '64MB'/);
    t.match(plan.stdout, /restart 15\/main: shared_buffers take effect only on restart/);
    const unconfirmed = await ironclad(['-i', changed, '--limit', 'db-prod', 'apply']);
    t.equal(unconfirmed.code, 3, 'no terminal, no --yes: the restart is not done');
    t.match(unconfirmed.stdout, /NOT DONE: restart/);
    const r = await ironclad(['-i', changed, '--limit', 'db-prod', 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout);
    t.equal((await lab.sshOk('db-prod', 'cd / && su postgres -c "psql -XAtc \'SHOW shared_buffers\'"')).trim(), '64MB');
    t.equal((await ironclad(['-i', changed, '--json', '--limit', 'db-prod', 'plan'])).stdout.includes('"changes": []'), true, 'converged');
  });

  await t.test('a data directory that already holds another cluster is refused, not overwritten', async (t) => {
    await lab.sshOk('app-prod', 'mkdir -p /var/lib/postgresql/15/main && chown postgres: /var/lib/postgresql/15/main && cd / && su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /var/lib/postgresql/15/main >/dev/null"');
    const before = await lab.sshOk('app-prod', '/usr/lib/postgresql/15/bin/pg_controldata /var/lib/postgresql/15/main | grep "system identifier"');
    const appProd = `  app-prod:\n    address: ${lab.host('app-prod').address}\n    tags: [production]\n`;
    const withPg = variant((s) => s.replace(appProd, `${appProd}    postgres: { cluster: main, port: 5432 }\n`));
    t.match(readFileSync(withPg, 'utf8'), `${appProd}    postgres: { cluster`, 'the variant gives app-prod a cluster');
    const r = await ironclad(['-i', withPg, '--limit', 'app-prod', 'apply', '--yes']);
    t.equal(r.code, 3, r.stdout);
    t.match(r.stdout, /already holds a PostgreSQL 15 data directory \(system identifier \d+\) that no cluster configuration names: refusing to initialize over it/);
    t.equal(await lab.sshOk('app-prod', '/usr/lib/postgresql/15/bin/pg_controldata /var/lib/postgresql/15/main | grep "system identifier"'), before, 'untouched');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
