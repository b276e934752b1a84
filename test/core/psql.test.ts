// The one builder of psql's shell text, attacked: a database name, a psql variable's value or a shell variable's value
// holding quotes, ';', '=', a space, a newline, `host=10.0.0.1`, `\! id` arrives as that one value (PGDATABASE, the one
// argument of -v) and never changes the command. Run here with stand-ins, and once through the real `su` as postgres.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { clientAs, clientEnv, psqlAs, psqlClient, psqlPiped } from '../../src/core/psql.js';
import { HOSTILE_NAMES, runWith, standIns } from '../fixtures/psql-standin.js';

const OPTIONS = { csv: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--csv', '-t'], tab: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t'] };

t.test('a hostile database name or variable value is one value: PGDATABASE, or the argument of -v', async (t) => {
  for (const name of HOSTILE_NAMES) {
    const s = standIns();
    runWith(s, psqlAs('postgres', { database: name, port: 5433, format: 'csv', vars: { v: name } }), { stdin: 'SELECT :\'v\';' });
    runWith(s, psqlPiped('postgres', { database: name, port: 5433, format: 'tab' }, `SELECT 1; -- ${name}`));
    runWith(s, `exec ${psqlClient({ database: name, format: 'csv', vars: { v: name } })} -h 127.0.0.1`, { stdin: 'SELECT 2;' });
    t.same(s.runs(), [
      { program: 'psql', database: name, pgport: '', stdin: "SELECT :'v';", args: [...OPTIONS.csv, '-p', '5433', '-v', `v=${name}`] },
      { program: 'psql', database: name, pgport: '', stdin: `SELECT 1; -- ${name}`.replace(/\n+$/, ''), args: [...OPTIONS.tab, '-p', '5433'] },
      { program: 'psql', database: name, pgport: '', stdin: 'SELECT 2;', args: [...OPTIONS.csv, '-v', `v=${name}`, '-h', '127.0.0.1'] },
    ], JSON.stringify(name));
  }
});

t.test("a shell variable's value (a name read on the host) crosses su as one value, never as shell text", async (t) => {
  for (const name of HOSTILE_NAMES) {
    const s = standIns();
    const p = { database: { variable: 'db' }, port: { variable: 'port' }, format: 'tab' as const, vars: { d: { variable: 'd' }, lit: 'x y' } };
    runWith(s, `port=5433; ${psqlPiped('postgres', p, 'SELECT 3;')}`, { env: { db: name, d: name } });
    t.same(s.runs(), [{ program: 'psql', database: name, pgport: '', stdin: 'SELECT 3;', args: [...OPTIONS.tab, '-p', '5433', '-v', `d=${name}`, '-v', 'lit=x y'] }], JSON.stringify(name));
  }
});

t.test('another client (pg_restore) gets the database in PGDATABASE only', async (t) => {
  const s = standIns();
  for (const name of HOSTILE_NAMES) runWith(s, clientAs('postgres', name, "pg_restore -p 5433 -d '' --no-owner"));
  t.same(s.runs().map((r) => [r.program, r.database, r.args]), HOSTILE_NAMES.map((n) => ['pg_restore', n, ['-p', '5433', '-d', '', '--no-owner']]));
});

t.test('another client over TCP (the refresh\'s pg_restore) gets the database in PGDATABASE only, values as one word each', async (t) => {
  const s = standIns();
  for (const name of HOSTILE_NAMES) runWith(s, `exec ${clientEnv(name, "pg_restore -d '' -j 2 /x.dump", { PGOPTIONS: `-c work_mem=64MB ${name}` })} -h 127.0.0.1`);
  t.same(s.runs().map((r) => [r.program, r.database, r.args]), HOSTILE_NAMES.map((n) => ['pg_restore', n, ['-d', '', '-j', '2', '/x.dump', '-h', '127.0.0.1']]));
  t.equal(clientEnv("a'b", 'pg_restore', { PGOPTIONS: '-c x=1' }), `env PGDATABASE='a'\\''b' PGOPTIONS='-c x=1' pg_restore`);
  t.throws(() => clientEnv('app', 'pg_restore', { 'X; id': '1' }), /not an environment variable name/);
});

t.test('what is not a name is refused before any shell text exists', async (t) => {
  const p = { database: 'app', port: 5432, format: 'csv' as const };
  t.throws(() => psqlAs('postgres -c id', p), /not an OS account name/);
  t.throws(() => psqlAs('postgres', { ...p, database: { variable: 'db; id' } }), /not a shell variable name/);
  t.throws(() => psqlAs('postgres', { ...p, vars: { 'a=b -c id': 'x' } }), /not a psql variable name/);
  t.throws(() => psqlAs('postgres', { ...p, port: 5432.5 }), /not a port/);
  t.throws(() => psqlAs('postgres', { ...p, program: 'psql; id' }), /not a program path/);
  t.throws(() => clientAs('root -c id', 'app', 'pg_restore'), /not an OS account name/);
});

t.test('through the real su, as postgres: the environment arrives (PGDATABASE, the carried values), the shell starts in /', { skip: process.getuid?.() !== 0 ? 'needs root' : undefined }, async (t) => {
  const s = standIns();
  const name = "dbname=postgres host=10.0.0.1 it's\n\\! id";
  const out = execFileSync('/bin/sh', ['-c', `cd ${s.log} && ${psqlAs('postgres', { database: name, port: { variable: 'port' }, format: 'csv', program: join(s.bin, 'psql'), vars: { d: { variable: 'd' } } })}`], {
    input: 'SELECT 4;',
    env: { PATH: '/usr/bin:/bin', STANDIN_LOG: s.log, STANDIN_REPLY: 'id -un; pwd', port: '5433', d: name },
    encoding: 'utf8',
  });
  t.equal(out, 'postgres\n/\n');
  t.same(s.runs(), [{ program: 'psql', database: name, pgport: '', stdin: 'SELECT 4;', args: [...OPTIONS.csv, '-p', '5433', '-v', `d=${name}`] }]);
});
