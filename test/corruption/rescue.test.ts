// The rescue script run for real on a throwaway cluster: one table of a dump (a schema and a table name with quotes and
// a space) restored into <db>__rescue with its rows, the live table untouched, a scratch database that exists refused.
// Attacked: a scratch database named like connection options (`dbname=app host=...`) and a schema and a table named
// with quotes, ';', '=', a newline and `\! touch` reach psql and pg_restore as values only (stand-ins, then for real).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { sqlIdent } from '../../src/core/quote.js';
import { rescueScript, splitTable } from '../../src/corruption/rescue.js';
import { HOSTILE_NAMES, TAB_ARGS_5433, runWith, standIns } from '../fixtures/psql-standin.js';

t.test('table names as PostgreSQL spells them', async (t) => {
  t.same(splitTable('orders'), { schema: 'public', table: 'orders' });
  t.same(splitTable('crm.Contacts'), { schema: 'crm', table: 'Contacts' });
  t.same(splitTable('crm.a.b'), { schema: 'crm', table: 'a.b' }, 'the first dot splits');
});

t.test('every name reaches psql and pg_restore as one value: the scratch database in PGDATABASE, schema and table as -n and -t', async (t) => {
  const TAB = TAB_ARGS_5433;
  for (const name of HOSTILE_NAMES) {
    const s = standIns();
    const dump = join(s.log, '..', 'dump.pgdump');
    writeFileSync(dump, 'PGDMP-bytes');
    const scratch = `${name}__rescue`;
    const out = runWith(s, rescueScript({ port: 5433, scratch, schema: name, table: `${name}x`, dump }), { env: { STANDIN_REPLY: 'case "$sql" in "SELECT count(*)"*) echo 7;; esac' } });
    t.equal(out, '7\n');
    t.same(s.runs().map((r) => [r.program, r.database, r.args, r.stdin]), [
      ['psql', 'postgres', TAB, `SELECT 1 FROM pg_catalog.pg_database WHERE datname = '${scratch.replace(/'/g, "''")}'`],
      ['psql', 'postgres', TAB, `CREATE DATABASE ${sqlIdent(scratch)}`],
      ['psql', scratch, TAB, `CREATE SCHEMA ${sqlIdent(name)}`],
      ['pg_restore', scratch, ['-p', '5433', '-d', '', '--no-owner', '--no-acl', '-n', name, '-t', `${name}x`], 'PGDMP-bytes'],
      ['psql', scratch, TAB, `SELECT count(*) FROM ${sqlIdent(name)}.${sqlIdent(`${name}x`)}`],
    ], JSON.stringify(name));
  }
});

const BIN = '/usr/lib/postgresql/15/bin';
if (process.getuid?.() !== 0 || !existsSync(`${BIN}/pg_restore`)) t.test('on a real cluster', { skip: 'needs root and PostgreSQL 15' }, async () => undefined);
else {
  const work = mkdtempSync(join(tmpdir(), 'ic-rescue-'));
  execFileSync('chown', ['postgres', work]);
  const data = join(work, 'data');
  const port = 5400 + Math.floor(Math.random() * 90);
  const env = { ...process.env, PGHOST: work, PATH: `${BIN}:${process.env.PATH}` };
  const asPg = (cmd: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8', env });
  const psql = (db: string, sql: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `psql -X -A -t -q -p ${port}`], { cwd: '/', encoding: 'utf8', env: { ...env, PGDATABASE: db }, input: sql }).trim();
  // a schema and a table an attacker named, and a scratch database named as connection options to the live database
  const HS = `s'"; \\! touch ${work}/pwned`;
  const HT = 't=1 host=10.0.0.1\nx;y';
  const HSCRATCH = `dbname=app host=${work}`;
  t.teardown(() => {
    try { asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`); } catch { /* down */ }
    rmSync(work, { recursive: true, force: true });
  });
  asPg(`${BIN}/initdb -k -A trust -D ${data} >/dev/null && ${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
  psql('postgres', 'CREATE DATABASE app');
  psql('app', `CREATE SCHEMA "it's"; CREATE TABLE "it's"."Or""ders x" (id int PRIMARY KEY, v text); INSERT INTO "it's"."Or""ders x" SELECT g, 'v' FROM generate_series(1, 300) g; CREATE TABLE other (id int); INSERT INTO other VALUES (1);`);
  psql('app', `CREATE SCHEMA ${sqlIdent(HS)}; CREATE TABLE ${sqlIdent(HS)}.${sqlIdent(HT)} (id int); INSERT INTO ${sqlIdent(HS)}.${sqlIdent(HT)} SELECT generate_series(1, 5);`);
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

  t.test('hostile names: into the database literally named `dbname=app host=...`, never into the live one; no \\! run', async (t) => {
    const r = spawnSync('sh', ['-c', rescueScript({ port, scratch: HSCRATCH, schema: HS, table: HT, dump })], { env, encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), '5');
    t.equal(psql(HSCRATCH, `SELECT count(*) FROM ${sqlIdent(HS)}.${sqlIdent(HT)}`), '5', 'in the scratch database of that name');
    t.equal(psql(HSCRATCH, "SELECT count(*) FROM pg_class WHERE relname = 'other'"), '0');
    t.equal(psql('app', `SELECT count(*) FROM ${sqlIdent(HS)}.${sqlIdent(HT)}`), '5', 'the live one untouched');
    t.notOk(existsSync(join(work, 'pwned')), 'no psql meta-command ran');
  });

  t.test('a scratch database that exists is refused (exit 3), not reused', async (t) => {
    const r = run();
    t.equal(r.status, 3);
    t.match(r.stderr, /app__rescue already exists/);
  });
}
