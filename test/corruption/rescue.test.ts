// The rescue script run for real on a throwaway cluster: one table of a dump (a schema and a table name with quotes and
// a space) restored into <db>__rescue with its rows, the live table untouched, a scratch database that exists refused.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { rescueScript, splitTable } from '../../src/corruption/rescue.js';

t.test('table names as PostgreSQL spells them', async (t) => {
  t.same(splitTable('orders'), { schema: 'public', table: 'orders' });
  t.same(splitTable('crm.Contacts'), { schema: 'crm', table: 'Contacts' });
  t.same(splitTable('crm.a.b'), { schema: 'crm', table: 'a.b' }, 'the first dot splits');
});

const BIN = '/usr/lib/postgresql/15/bin';
if (process.getuid?.() !== 0 || !existsSync(`${BIN}/pg_restore`)) t.plan(0, 'needs root and PostgreSQL 15');
else {
  const work = mkdtempSync(join(tmpdir(), 'ic-rescue-'));
  execFileSync('chown', ['postgres', work]);
  const data = join(work, 'data');
  const port = 5400 + Math.floor(Math.random() * 90);
  const env = { ...process.env, PGHOST: work, PATH: `${BIN}:${process.env.PATH}` };
  const asPg = (cmd: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8', env });
  const psql = (db: string, sql: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `psql -X -A -t -q -p ${port} -d ${db}`], { cwd: '/', encoding: 'utf8', env, input: sql }).trim();
  t.teardown(() => {
    try { asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`); } catch { /* down */ }
    rmSync(work, { recursive: true, force: true });
  });
  asPg(`${BIN}/initdb -k -A trust -D ${data} >/dev/null && ${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
  psql('postgres', 'CREATE DATABASE app');
  psql('app', `CREATE SCHEMA "it's"; CREATE TABLE "it's"."Or""ders x" (id int PRIMARY KEY, v text); INSERT INTO "it's"."Or""ders x" SELECT g, 'v' FROM generate_series(1, 300) g; CREATE TABLE other (id int); INSERT INTO other VALUES (1);`);
  const dump = join(work, 'dump.pgdump');
  asPg(`pg_dump -Fc -p ${port} -d app -f ${dump}`);
  const run = () => spawnSync('sh', ['-c', rescueScript({ port, scratch: 'app__rescue', schema: "it's", table: 'Or"ders x', dump })], { env, encoding: 'utf8' });

  t.test('one table into app__rescue, nothing else', async (t) => {
    const r = run();
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), '300', 'its rows, counted');
    t.equal(psql('app__rescue', `SELECT count(*) FROM "it's"."Or""ders x"`), '300');
    t.equal(psql('app__rescue', "SELECT count(*) FROM pg_class WHERE relname = 'other'"), '0', 'no other table');
    t.equal(psql('app', `SELECT count(*) FROM "it's"."Or""ders x"`), '300', 'the live one untouched');
  });

  t.test('a scratch database that exists is refused (exit 3), not reused', async (t) => {
    const r = run();
    t.equal(r.status, 3);
    t.match(r.stderr, /app__rescue already exists/);
  });
}
