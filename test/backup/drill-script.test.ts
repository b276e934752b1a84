// The restore drill's script run for real, as root, on a dump of a throwaway cluster: a database whose extensions
// only a superuser may create (amcheck in pg_catalog, as the amcheck job's --install-missing puts it; pg_trgm in a
// schema with a hostile name, used by an index) and that holds an event trigger still restores as the drill's
// role without superuser; the extensions are made by the scratch cluster's superuser, the event trigger is left out and
// named (publications too: FOR ALL TABLES is for superusers), every row counted. Before the drill did this, the first weekly amcheck made every later drill fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { drillScript, parseDrill } from '../../src/backup/drill.js';

const BIN = '/usr/lib/postgresql/15/bin';
const why = process.getuid?.() !== 0 ? 'needs root' : !existsSync(`${BIN}/initdb`) ? 'needs PostgreSQL 15' : spawnSync('id', ['postgres']).status !== 0 ? 'needs a postgres account' : '';

t.test('a drill restores a dump with superuser-only extensions and an event trigger', { skip: why || false }, async (t) => {
  const userBefore = spawnSync('id', ['ironclad-drill']).status === 0;
  const work = mkdtempSync(join(tmpdir(), 'ic-drill-'));
  execFileSync('chown', ['postgres', work]);
  const data = join(work, 'data');
  const port = 5400 + Math.floor(Math.random() * 90);
  const asPg = (cmd: string, input?: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8', input });
  const dir = mkdtempSync(join('/var/tmp', 'ic-drill-dir-'));
  t.teardown(() => {
    try { asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`); } catch { /* down */ }
    rmSync(work, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    if (!userBefore) spawnSync('userdel', ['ironclad-drill']);
  });
  asPg(`${BIN}/initdb -A trust -D ${data} >/dev/null && ${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
  asPg(`psql -X -q -h ${work} -p ${port} -d postgres -c 'CREATE DATABASE app'`);
  asPg(`psql -X -q -v ON_ERROR_STOP=1 -h ${work} -p ${port} -d app`, `
    CREATE EXTENSION amcheck WITH SCHEMA pg_catalog;
    CREATE SCHEMA "e x""t; DROP TABLE words; --";
    CREATE EXTENSION pg_trgm WITH SCHEMA "e x""t; DROP TABLE words; --";
    CREATE TABLE words (w text);
    INSERT INTO words SELECT md5(g::text) FROM generate_series(1, 500) g;
    CREATE INDEX words_trgm ON words USING gin (w "e x""t; DROP TABLE words; --".gin_trgm_ops);
    CREATE FUNCTION no_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no DDL'; END $$;
    CREATE PUBLICATION words_pub FOR TABLE words;
    CREATE PUBLICATION all_pub FOR ALL TABLES;
    COMMENT ON PUBLICATION all_pub IS 'everything';
    CREATE EVENT TRIGGER no_ddl ON ddl_command_start EXECUTE FUNCTION no_ddl();
    ALTER EVENT TRIGGER no_ddl DISABLE;
    COMMENT ON EVENT TRIGGER no_ddl IS 'blocks DDL';
    ALTER EVENT TRIGGER no_ddl ENABLE;`);
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `su postgres -s /bin/sh -c 'pg_dump -Fc -h ${work} -p ${port} -d app' > ${dir}/dump.pgdump`]);

  const r = spawnSync('sh', ['-s'], { input: drillScript(dir), encoding: 'utf8' });
  t.equal(r.status, 0, `the drill ran\n${r.stderr}`);
  const d = parseDrill(r.stdout);
  t.equal(d.restoreExit, 0, `pg_restore as the drill's role succeeded: ${d.log.join(' | ')}`);
  t.same(d.counted?.counts, { 'public.words': 500 }, 'every row restored and counted');
  t.match(d.notes, [/left out \(superuser only; never in a copy\): EVENT TRIGGER - no_ddl/], 'the event trigger is left out, and named');
  t.same(d.notes.filter((n) => /PUBLICATION/.test(n)).map((n) => n.replace(/ \S+$/, '')).sort(), ['left out (a drill never publishes): PUBLICATION - all_pub', 'left out (a drill never publishes): PUBLICATION - words_pub', 'left out (a drill never publishes): PUBLICATION TABLE public words_pub words'], 'publications left out (FOR ALL TABLES would fail a plain role), and named');
  t.notOk(existsSync(dir), "the drill's folder is removed afterwards");
});
