import { execFileSync } from 'node:child_process';
import t from 'tap';
import { entrySql, leftOutDir, leftOutLines, leftOutOf, leftOutSummary, replicationEntries, splitReplication } from '../../src/refresh/left-out.js';
import { restorableToc } from '../../src/refresh/prepare.js';

const TOC = [
  ';',
  '220; 1259 16400 TABLE public orders app',
  '221; 1259 16401 TABLE public users app',
  '3300; 3466 16500 EVENT TRIGGER - et_audit postgres',
  '3301; 6104 16501 PUBLICATION - pub_orders app',
  '3302; 6106 16502 PUBLICATION TABLE public pub_orders orders app',
  '3303; 6106 16503 PUBLICATION TABLE public pub_orders users app',
  '3304; 6104 16504 PUBLICATION - pub_all postgres',
  '3305; 6104 16505 PUBLICATION - pub_schema postgres',
  '3306; 6237 16506 PUBLICATION TABLES IN SCHEMA - pub_schema public postgres',
  '3307; 6100 16507 SUBSCRIPTION - sub_in postgres',
  '3308; 6104 16508 PUBLICATION - pub_evil app',
  '3309; 6106 16509 PUBLICATION TABLE public pub_evil orders app',
  '3370; 0 16400 TABLE DATA public orders app',
].join('\n');

/** The SQL of each entry, as `pg_restore -v --no-owner -f - -L LIST` writes it (by dump id). */
const SQL = new Map<number, string>([
  [3300, 'CREATE EVENT TRIGGER et_audit ON ddl_command_end\n   EXECUTE FUNCTION public.audit_ddl();'],
  [3301, "CREATE PUBLICATION pub_orders WITH (publish = 'insert, update, delete, truncate');"],
  [3302, 'ALTER PUBLICATION pub_orders ADD TABLE ONLY public.orders WHERE ((id > 0));'],
  [3303, 'ALTER PUBLICATION pub_orders ADD TABLE ONLY public.users (id, email);'],
  [3304, "CREATE PUBLICATION pub_all FOR ALL TABLES WITH (publish = 'insert, update, delete, truncate');"],
  [3305, "CREATE PUBLICATION pub_schema WITH (publish = 'insert');"],
  [3306, 'ALTER PUBLICATION pub_schema ADD TABLES IN SCHEMA public;'],
  [3307, "CREATE SUBSCRIPTION sub_in CONNECTION 'host=upstream password=s3cret' PUBLICATION up WITH (connect = false, slot_name = 'sub_in');"],
  // a dump from a compromised production: a second statement after a plain-looking one
  [3308, "CREATE PUBLICATION pub_evil WITH (publish = 'insert');\nALTER ROLE app SUPERUSER;"],
  [3309, 'ALTER PUBLICATION pub_evil ADD TABLE ONLY public.orders;'],
]);

const split = (production: boolean, sql = SQL) => splitReplication({ toc: TOC, sql, production, dir: '/var/lib/ironclad/left-out/R1', host: 'db-prod', database: 'app' });

t.test('the entries treated apart: each kind told from the longer ones, tags with spaces, an empty owner', async (t) => {
  const e = replicationEntries(TOC);
  t.same(e.map((x) => `${x.id} ${x.kind} [${x.schema}] [${x.tag}]`), [
    '3300 EVENT TRIGGER [-] [et_audit]',
    '3301 PUBLICATION [-] [pub_orders]',
    '3302 PUBLICATION TABLE [public] [pub_orders orders]',
    '3303 PUBLICATION TABLE [public] [pub_orders users]',
    '3304 PUBLICATION [-] [pub_all]',
    '3305 PUBLICATION [-] [pub_schema]',
    '3306 PUBLICATION TABLES IN SCHEMA [-] [pub_schema public]',
    '3307 SUBSCRIPTION [-] [sub_in]',
    '3308 PUBLICATION [-] [pub_evil]',
    '3309 PUBLICATION TABLE [public] [pub_evil orders]',
  ]);
  t.same(replicationEntries('12; 6104 1 PUBLICATION - my pub \n13; 1259 2 TABLE public t app').map((x) => x.tag), ['my pub']);
});

t.test('a staging refresh leaves every one out, names them, and keeps no SQL anywhere', async (t) => {
  const r = split(false);
  t.same(r.restore, [], 'nothing restored');
  t.equal(r.leftOut.length, 10);
  t.ok(r.leftOut.every((l) => l.file === undefined && l.how === 'never restored into a copy'));
  t.same(restorableToc(TOC, new Set(r.restore)).list.split('\n'), [';', '220; 1259 16400 TABLE public orders app', '221; 1259 16401 TABLE public users app', '3370; 0 16400 TABLE DATA public orders app']);
});

t.test('restore-production: plain publications and their tables restored, the others named with why and how', async (t) => {
  const r = split(true);
  t.same(r.restore.map((l) => l.split(';')[0]), ['3301', '3305', '3302', '3303'], 'pub_orders, pub_schema (plain), then pub_orders\'s two tables');
  t.same(r.restored, ['publication pub_orders', 'publication pub_schema', 'publication table pub_orders: public.orders', 'publication table pub_orders: public.users']);
  const out = Object.fromEntries(r.leftOut.map((l) => [`${l.kind} ${l.name}`, l]));
  t.same(Object.keys(out), ['event trigger et_audit', 'publication pub_all', 'publication tables in schema pub_schema: TABLES IN SCHEMA public', 'subscription sub_in', 'publication pub_evil', 'publication table pub_evil: public.orders']);
  t.match(out['publication pub_all'].why, /FOR ALL TABLES: PostgreSQL 15 lets only a superuser/);
  t.match(out['publication tables in schema pub_schema: TABLES IN SCHEMA public'].why, /only a superuser add TABLES IN SCHEMA/);
  t.match(out['event trigger et_audit'].why, /only a superuser create an event trigger/);
  t.match(out['publication pub_evil'].why, /not the plain CREATE PUBLICATION/, 'a second statement: never run by anyone ironclad controls');
  t.match(out['publication table pub_evil: public.orders'].why, /its publication is left out/);
  t.equal(out['event trigger et_audit'].file, '/var/lib/ironclad/left-out/R1/3300.sql');
  t.equal(out['event trigger et_audit'].how, "read /var/lib/ironclad/left-out/R1/3300.sql (the entry's SQL, as pg_restore -f writes it from the copied dump), then after the swap, as root on db-prod: su postgres -c 'psql -X -v ON_ERROR_STOP=1 -d app' < /var/lib/ironclad/left-out/R1/3300.sql");
  t.match(out['subscription sub_in'].how, /comes back disabled and without connecting \(pg_dump's connect = false\).*ALTER SUBSCRIPTION "sub_in" ENABLE; ALTER SUBSCRIPTION "sub_in" REFRESH PUBLICATION/);
  t.notMatch(JSON.stringify(r.leftOut), /s3cret/, "a subscription's password is never in the report");
  const list = restorableToc(TOC, new Set(r.restore)).list.split('\n');
  t.same(list.filter((l) => /PUBLICATION|TRIGGER|SUBSCRIPTION/.test(l)).map((l) => l.split(';')[0]), ['3301', '3302', '3303', '3305'], 'in the restore list, in the dump order');
});

t.test('restore-production refuses what it cannot read as pg_dump writes it: no SQL, FOR ALL TABLES in another spelling, a membership of no plain publication', async (t) => {
  t.equal(split(true, new Map()).restore.length, 0, 'no SQL read: nothing restored');
  const odd = new Map(SQL);
  odd.set(3302, 'ALTER PUBLICATION pub_orders ADD TABLE ONLY public.orders;\nALTER PUBLICATION pub_orders ADD TABLE ONLY public.users;');
  odd.set(3303, 'ALTER PUBLICATION "pub_orders" ADD TABLE ONLY public.users;');
  const r = split(true, odd);
  t.same(r.restored, ['publication pub_orders', 'publication pub_schema'], 'two statements in one membership, or the name spelled otherwise: left out');
  t.same(entrySql('--\n-- TOC entry 3301 (class 6104 OID 16501)\n-- Name: pub_orders; Type: PUBLICATION; Schema: -; Owner: -\n--\n\nCREATE PUBLICATION pub_orders WITH (publish = \'insert\');\n\n\n'), new Map([[3301, "CREATE PUBLICATION pub_orders WITH (publish = 'insert');"]]));
});

t.test('names: control characters never reach the report; the database and files quoted for the shell', async (t) => {
  const r = splitReplication({ toc: '7; 3466 1 EVENT TRIGGER - et\u001b[2Jx postgres', sql: new Map(), production: true, dir: '/d', host: 'h', database: "o'k db" });
  t.equal(r.leftOut[0].name, 'et?[2Jx');
  // the how's command, through a shell (su standing in): the database name arrives whole, quoted twice
  const cmd = /as root on h: (su postgres -c .*) < \/d\/7\.sql$/.exec(r.leftOut[0].how)![1];
  const inner = execFileSync('sh', ['-c', `su() { printf '%s' "$3"; }; ${cmd}`]).toString();
  t.same(execFileSync('sh', ['-c', `printf '%s\\n' ${inner}`]).toString().split('\n').slice(0, -1), ['psql', '-X', '-v', 'ON_ERROR_STOP=1', '-d', "o'k db"]);
  t.throws(() => leftOutDir('../x'), /not a run id/);
  t.equal(leftOutDir('20261203T170000-restore-production-abc123'), '/var/lib/ironclad/left-out/20261203T170000-restore-production-abc123');
});

t.test("the report's lines, the swap's confirmation line, and what a step's parameter may carry", async (t) => {
  const r = split(true);
  const lines = leftOutLines(r.leftOut, r.restored);
  t.match(lines[0], /^restored as a plain role, owned by the database's owner after the swap: publication pub_orders, /);
  t.match(lines[1], /^LEFT OUT of the restored database \(6; nothing of the dump is ever run as superuser\)/);
  t.match(lines[2], /^ {2}- event trigger et_audit: PostgreSQL lets only a superuser/);
  t.match(lines[3], /^ {4}how: read \/var\/lib\/ironclad\/left-out\/R1\/3300\.sql/);
  t.same(leftOutLines([], []), [], 'nothing to say');
  t.equal(leftOutSummary([]), undefined);
  t.match(leftOutSummary(r.leftOut), /^Left out of the restored data \(6, see the report's how\): event trigger et_audit, publication pub_all, /);
  const carried = JSON.parse(JSON.stringify(r.leftOut.map(({ entry: _, ...l }) => l)));
  t.same(leftOutOf(carried).length, 6, 'through the journal and back');
  t.same(leftOutOf('<steps.report.left_out>'), [], 'a plan: not known yet');
  t.same(leftOutOf([{ kind: 'x' }, null, 3, { kind: 'a', name: 'b', why: 'c', how: 'd', file: 7 }]), [{ kind: 'a', name: 'b', why: 'c', how: 'd' }]);
});
