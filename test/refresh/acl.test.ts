// The dump's privileges read as data: statements cut at semicolons outside quotes, each GRANT/REVOKE parsed by a strict
// grammar and written again with ironclad's quoting; a statement hidden in a quoted name stays a name; anything else
// is only named (shown on one printable line), never run. Then run for real: production's privileges, restored by a
// plain role that owns the copy, equal production's for the roles that exist.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseAcl, parseGrant, renderGrant, shown, statements } from '../../src/refresh/acl.js';
import { grantsLines, ownedSql, planGrants } from '../../src/refresh/grants.js';

// (as pg_restore -L <ACL entries> -f - writes them, PostgreSQL 15: a header, psql's \restrict, comments)
const DUMPED = `--
-- PostgreSQL database dump
--

\\restrict PJ304jikv8cYAJByA3YR4L

SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT CREATE ON SCHEMA public TO PUBLIC;

--
-- Name: FUNCTION f(a integer); Type: ACL; Schema: public; Owner: app
--

REVOKE ALL ON FUNCTION public.f(a integer) FROM PUBLIC;

--
-- Name: TABLE "Contacts"; Type: ACL; Schema: crm; Owner: app
--

GRANT SELECT ON TABLE crm."Contacts" TO reporting;
GRANT SELECT,USAGE ON SEQUENCE crm."Contacts_id_seq" TO gone WITH GRANT OPTION;
SET SESSION AUTHORIZATION app;
GRANT SELECT(email),UPDATE("E;mail ""x""") ON TABLE public.users TO "Mixed ""Role""";
RESET SESSION AUTHORIZATION;

--
-- Name: TABLE "we;ird GRANT ALL ON SCHEMA public TO PUBLIC;"; Type: ACL; Schema: public; Owner: app
--

GRANT SELECT ON TABLE public."we;ird
GRANT ALL ON SCHEMA public TO PUBLIC;" TO gone;
GRANT SELECT ON TABLE public."it's -- not a comment" TO reporting;
REVOKE GRANT OPTION FOR ALL ON TABLE public.users FROM reporting;

\\unrestrict PJ304jikv8cYAJByA3YR4L
`;

t.test('statements: semicolons, comments and meta-commands inside quotes are part of the name', async (t) => {
  const s = statements(DUMPED);
  t.ok(s.includes('GRANT SELECT ON TABLE public."we;ird\nGRANT ALL ON SCHEMA public TO PUBLIC;" TO gone'));
  t.ok(s.includes(`GRANT SELECT ON TABLE public."it's -- not a comment" TO reporting`));
  t.notOk(s.some((x) => x.includes('restrict')), 'psql meta-commands dropped');
  t.same(statements(`GRANT x; "a;b" ; 'c;d';`), ['GRANT x', '"a;b"', "'c;d'"]);
});

t.test('grants as data, written again with quoting', async (t) => {
  const { grants, unknown } = parseAcl(DUMPED);
  t.same(grants.map(renderGrant), [
    'REVOKE USAGE ON SCHEMA "public" FROM PUBLIC;',
    'GRANT CREATE ON SCHEMA "public" TO PUBLIC;',
    'GRANT SELECT ON TABLE "crm"."Contacts" TO "reporting";',
    'GRANT SELECT, USAGE ON SEQUENCE "crm"."Contacts_id_seq" TO "gone" WITH GRANT OPTION;',
    'GRANT SELECT ("email"), UPDATE ("E;mail ""x""") ON TABLE "public"."users" TO "Mixed ""Role""";',
    'GRANT SELECT ON TABLE "public"."we;ird\nGRANT ALL ON SCHEMA public TO PUBLIC;" TO "gone";',
    'GRANT SELECT ON TABLE "public"."it\'s -- not a comment" TO "reporting";',
    'REVOKE GRANT OPTION FOR ALL ON TABLE "public"."users" FROM "reporting";',
  ]);
  t.same(grants[5], { action: 'GRANT', option: false, privileges: [{ name: 'SELECT', columns: [] }], kind: 'TABLE', schema: 'public', name: 'we;ird\nGRANT ALL ON SCHEMA public TO PUBLIC;', grantee: 'gone' }, 'the hidden statement is a name');
  t.same(unknown, ['REVOKE ALL ON FUNCTION public.f(a integer) FROM PUBLIC'], 'a function: named, not run; SET/RESET SESSION AUTHORIZATION and the header ignored');
});

t.test('anything outside the grammar is not a grant', async (t) => {
  for (const bad of [
    'GRANT SELECT ON TABLE public.users TO reporting; DROP TABLE users',
    'GRANT pg_read_all_data TO reporting',
    'GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting',
    'GRANT SELECT ON TABLE users TO reporting',
    'GRANT SELECT ON TABLE public.users TO reporting GRANTED BY postgres',
    'GRANT SELECT ON TABLE public.Users TO reporting',
    'GRANT SELECT ON TABLE public."users TO reporting',
    'GRANT EXECUTE ON TABLE public.users TO reporting',
    'GRANT SELECT(a) ON SCHEMA public TO reporting',
    "GRANT SELECT ON TABLE public.users TO 'reporting'",
    'GRANT SELECT ON TABLE public.users TO reporting\\g',
    'GRANT SELECT ON TABLE public.users TO reporting WITH ADMIN OPTION',
    'GRANT SELECT ON TABLE public.users\u2028TO reporting ;',
    'REVOKE GRANT SELECT ON TABLE public.users FROM reporting',
  ]) t.equal(parseGrant(bad), null, JSON.stringify(bad).replace(/[^\x20-\x7e]/g, '?'));
  t.equal(shown('a\n\u001b[31mb\u202e' + 'x'.repeat(200)).length, 120);
  t.notMatch(shown('a\n\u001b[31mb'), /[\n\u001b]/);
});

t.test('planned: grants to roles the target has, on objects the role owns; the others named', async (t) => {
  const { grants, unknown } = parseAcl(DUMPED);
  const owned = grants.map((g) => g.name !== 'it\'s -- not a comment');
  const { sql, report } = planGrants(grants, new Set(['reporting', 'Mixed "Role"']), owned, unknown);
  t.equal(sql.length, 5);
  t.notOk(sql.some((s) => s.includes('"gone"')), 'nothing for a role staging lacks');
  t.same(report.missing, [{ role: 'gone', statements: 2 }]);
  t.same(report.roles, ['Mixed "Role"', 'PUBLIC', 'reporting']);
  t.match(report.skipped, [/TABLE public\.it's -- not a comment \(not the restoring role's\)/, /FUNCTION/]);
  const lines = grantsLines(report, 'staging');
  t.match(lines[0], /5 grants and revokes restored \(for Mixed "Role", PUBLIC, reporting\)/);
  t.match(lines[1], /the roles do not exist on staging: gone \(2\)/);
  t.match(ownedSql(grants), /\(5, 'TABLE', 'public', 'we;ird\nGRANT ALL ON SCHEMA public TO PUBLIC;'\)/, 'names go to the target as literals');
  t.match(ownedSql([{ ...grants[0], schema: "x'); DROP SCHEMA public; --" }]), /'x''\); DROP SCHEMA public; --'/);
});

const BIN = '/usr/lib/postgresql/15/bin';
if (process.getuid?.() !== 0 || !existsSync(`${BIN}/initdb`)) t.test('for real', { skip: 'needs root and PostgreSQL 15' }, async () => {});
else
  t.test('for real: the privileges restored by a plain role equal production\'s, for the roles that exist', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'ic-acl-'));
    execFileSync('chown', ['postgres', work]);
    const data = join(work, 'data');
    const port = 5400 + Math.floor(Math.random() * 90);
    const asPg = (cmd: string, input?: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
    const psql = (db: string, sql: string, user = 'postgres') => asPg(`psql -X -A -t -q -v ON_ERROR_STOP=1 -h ${work} -p ${port} -U ${user} -d ${db}`, sql).trim();
    t.teardown(() => {
      try { asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`); } catch { /* down */ }
      rmSync(work, { recursive: true, force: true });
    });
    asPg(`${BIN}/initdb -A trust -D ${data} >/dev/null && ${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
    psql('postgres', `CREATE ROLE app; CREATE ROLE reporting; CREATE ROLE "Mixed ""Role"""; CREATE ROLE gone; CREATE ROLE ironclad_app LOGIN;
      CREATE DATABASE app OWNER app; CREATE DATABASE copy OWNER ironclad_app;`);
    psql('app', `SET ROLE app; CREATE SCHEMA crm; CREATE TABLE crm."Contacts" (id serial, "Email" text); CREATE TABLE users (id int, email text, "E;mail ""x""" text);
      CREATE VIEW v AS SELECT id FROM users; CREATE TABLE "we;ird
GRANT ALL ON SCHEMA public TO PUBLIC;" (x int);
      GRANT USAGE ON SCHEMA crm TO reporting; GRANT SELECT ON crm."Contacts" TO reporting; GRANT SELECT ON users, v TO reporting WITH GRANT OPTION;
      GRANT SELECT (email), UPDATE ("E;mail ""x""") ON users TO "Mixed ""Role"""; GRANT USAGE ON SEQUENCE crm."Contacts_id_seq" TO "Mixed ""Role""";
      GRANT SELECT ON "we;ird
GRANT ALL ON SCHEMA public TO PUBLIC;" TO gone; GRANT INSERT ON users TO gone;
      RESET ROLE; REVOKE USAGE ON SCHEMA public FROM PUBLIC; GRANT CREATE ON SCHEMA public TO reporting;`);
    const dump = join(work, 'd.pgdump');
    asPg(`pg_dump -Fc -h ${work} -p ${port} -d app -f ${dump}`);
    asPg(`pg_restore --no-owner --no-acl -h ${work} -p ${port} -U ironclad_app -d copy ${dump}`);
    const list = join(work, 'acl.list');
    writeFileSync(list, asPg(`pg_restore -l ${dump}`).split('\n').filter((l) => /^\d+; \d+ \d+ ACL /.test(l)).join('\n'));
    chmodSync(list, 0o644);
    const { grants, unknown } = parseAcl(asPg(`pg_restore -L ${list} -f - ${dump}`));
    const asRole = (sql: string) => psql('copy', sql, 'ironclad_app').split('\n').filter(Boolean).map((l) => l.split('|'));
    // (one cluster here: the role staging lacks is left out of the roles it has)
    const roles = new Set(asRole(`SELECT rolname FROM pg_roles WHERE rolname <> 'gone'`).map(([r]) => r));
    const owned = asRole(ownedSql(grants)).map(([, o]) => o === 't');
    const { sql, report } = planGrants(grants, roles, owned, unknown);
    t.same(report.missing, [{ role: 'gone', statements: 2 }]);
    asRole(['BEGIN;', ...sql, 'COMMIT;'].join('\n'));
    psql('copy', 'REASSIGN OWNED BY ironclad_app TO app;');
    // every privilege as production has it, but those of the role staging lacks (dropped here to compare; no ACL: the default)
    psql('app', 'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM gone;');
    const acls = (db: string) => psql(db, `SELECT n.nspname, coalesce(n.nspacl, acldefault('n', n.nspowner))::text FROM pg_namespace n WHERE n.nspname IN ('public', 'crm')
      UNION ALL SELECT c.oid::regclass::text, coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))::text FROM pg_class c WHERE c.relnamespace IN ('public'::regnamespace, 'crm'::regnamespace) AND c.relkind IN ('r', 'v', 'S')
      UNION ALL SELECT a.attrelid::regclass::text || '.' || a.attname, a.attacl::text FROM pg_attribute a WHERE a.attacl IS NOT NULL AND a.attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace) ORDER BY 1`);
    t.equal(acls('copy'), acls('app'), "the copy's privileges are production's");
    t.match(acls('copy'), /reporting=r\*\/app/, 'a grant option kept');
    t.equal(psql('copy', 'SELECT count(*) FROM pg_namespace WHERE nspname = \'public\' AND has_schema_privilege(\'public\', nspname, \'USAGE\')'), '0', 'the revoke from PUBLIC kept');
  });
