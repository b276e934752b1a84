import t from 'tap';
import { rowMismatches } from '../../src/refresh/check.js';
import { columnTypes, keepWhereReadsOthers, scrubOrder, scrubWhileRestoringSql } from '../../src/refresh/restore-scrub.js';
import { ACTS_ON_UPDATES, onlyDataOf, parallelForeignKeys, postDataByTable, uniqueKeys, withoutDataOf } from '../../src/refresh/toc.js';
import { sideNames } from '../../src/refresh/db.js';
import { keyStatements } from '../../src/refresh/fakekey.js';
import { bindAccounts, fakeExpression, rulesHash, scrubPlan, scrubSql, scrubStatements, scrubTables, type ScrubRules } from '../../src/refresh/scrub.js';
import { renameSql, reopenSql } from '../../src/refresh/swap.js';

const KEY = 'ab'.repeat(32);

const RULES = {
  version: 1 as const,
  tables: {
    users: { email: { fake: 'email' as const, keep_where: 'email = ANY(:accounts)' }, full_name: { fake: 'name' as const }, phone: { set: null }, password_hash: { set: "it's" } },
    sessions: 'truncate' as const,
    orders: { shipping_address: { fake: 'address' as const } },
  },
};
const ACCOUNTS = ['dev@example.com', "o'brien@example.com"];
/** One entry of pg_restore's post-data SQL (`pg_restore --section=post-data -f -`). */
const block = (name: string, type: string, sql: string) => `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: app\n--\n\n${sql}\n\n\n`;

t.test('scrubSql: one transaction keyed by the host key, triggers off, truncates first, ONE update per table, keep_where bound to the accounts', async (t) => {
  const sql = scrubSql(RULES, ACCOUNTS, KEY).split('\n');
  t.equal(sql[0], 'BEGIN;');
  t.equal(sql.at(-1), 'COMMIT;');
  t.same(sql.slice(1, 3), keyStatements(KEY), 'the key, for this transaction only');
  t.match(sql[3], /^CREATE TEMP TABLE ironclad_triggers ON COMMIT DROP AS .*pg_partition_tree\('"public"\."users"'::regclass\).*'"public"\."orders"'::regclass/);
  t.match(sql[4], /'DISABLE'/, "production's triggers off for the scrub");
  t.equal(sql[5], 'TRUNCATE TABLE "public"."sessions";');
  t.match(sql.at(-2)!, /ENABLE ALWAYS/, 'and back to their own state after it');
  const users = sql.filter((l) => l.startsWith('UPDATE "public"."users"'));
  t.equal(users.length, 1, 'the table is rewritten once');
  t.match(users[0], /^UPDATE "public"."users" SET "email" = CASE WHEN coalesce\(\(email = ANY\(ARRAY\['dev@example\.com', 'o''brien@example\.com'\]::text\[\]\)\), false\) THEN "email" ELSE CASE WHEN "email" IS NULL/);
  t.match(users[0], /"phone" = NULL, "password_hash" = 'it''s';$/);
  t.notMatch(users[0], /WHERE NOT/, 'no row is left out: only the kept column keeps its value');
  t.equal(sql.filter((l) => l.startsWith('UPDATE "public"."orders"')).length, 1);
  t.notMatch(scrubSql(RULES, ACCOUNTS, KEY).replace(/SET LOCAL [^\n]*/g, ''), new RegExp(KEY.slice(0, 8)), 'the key only in the SET LOCAL statements');
});

t.test('scrub rules name tables as PostgreSQL spells them: schema.table, case-sensitive; a bare name is in public', async (t) => {
  const rules: ScrubRules = { version: 1, tables: { 'crm.Contacts': { Email: { fake: 'email' } }, 'crm.log': 'truncate', users: { x: { set: null } } } };
  t.same(scrubTables(rules), { truncated: ['crm.log'], updated: ['crm.Contacts', 'public.users'] });
  const plan = scrubPlan(rules, []);
  t.same(plan.truncates, ['TRUNCATE TABLE "crm"."log";']);
  t.match(plan.updates[0].sql, /^UPDATE "crm"\."Contacts" SET "Email" = CASE WHEN "Email" IS NULL/);
  t.not(rulesHash(rules), rulesHash({ ...rules, verify: { pii_skip: ['crm.log'] } }), 'any change of the rules, another fingerprint');
  const firing = scrubSql({ ...rules, fire_triggers: ['crm.Contacts'] }, [], KEY);
  t.notMatch(firing, /pg_partition_tree\('"crm"\."Contacts"'/, 'a table fire_triggers names keeps its triggers on for the scrub');
  t.match(firing, /pg_partition_tree\('"public"\."users"'/, 'the others are off');
});

t.test('scrubPlan and scrubTables agree with scrubSql', async (t) => {
  const plan = scrubPlan(RULES, ACCOUNTS);
  t.same(scrubTables(RULES), { truncated: ['public.sessions'], updated: ['public.users', 'public.orders'] });
  t.same(plan.truncates, ['TRUNCATE TABLE "public"."sessions";']);
  t.same(plan.updates.map((u) => u.table), ['public.users', 'public.orders']);
  const sql = scrubSql(RULES, ACCOUNTS, KEY);
  for (const statement of scrubStatements(RULES, ACCOUNTS)) t.ok(sql.includes(`\n${statement}\n`), statement.slice(0, 40));
});

t.test('scrub while restoring: truncates, then one transaction per table that turns its table LOGGED again', async (t) => {
  const sql = scrubWhileRestoringSql(scrubPlan(RULES, ACCOUNTS), ['public.users'], {}, KEY);
  const key = keyStatements(KEY).join('\n');
  t.equal(sql.truncates, `BEGIN;\n${key}\nTRUNCATE TABLE "public"."sessions";\nCOMMIT;`);
  t.equal(sql.updates.length, 2);
  t.match(sql.updates[0].sql, /^BEGIN;\nSET LOCAL ironclad.fake_k = '[0-9a-f]{128}';\nCREATE OR REPLACE FUNCTION pg_temp\.ironclad_fake_pad[^\n]*\nUPDATE "public"."users" SET [^\n]*;\nALTER TABLE "public"."users" SET LOGGED;\nCOMMIT;$/);
  t.match(sql.updates[1].sql, /^BEGIN;\n.*\n.*\nUPDATE "public"."orders" SET [^\n]*;\nCOMMIT;$/, 'a table left logged is not altered');
  t.equal(sql.updates[0].rewrite, undefined, 'without the column types, no one-pass rewrite');
  t.equal(scrubWhileRestoringSql({ truncates: [], updates: [] }, []).truncates, undefined);
});

t.test('scrub while restoring: an unlogged table whose columns are known is copied once by ALTER TABLE ... USING', async (t) => {
  const columns = columnTypes([
    ['public.users', 'id', 'bigint', ''],
    ['public.users', 'email', 'text', ''],
    ['public.users', 'full_name', 'character varying(200)', 'pg_catalog."C"'],
    ['public.users', 'phone', 'text', 'pg_catalog."default"'],
    ['public.users', 'password_hash', 'text', ''],
    ['public.orders', 'shipping_address', 'text', ''],
  ]);
  t.same(columns['public.users'].full_name, { type: 'character varying(200)', collation: 'pg_catalog."C"' });
  const plan = scrubPlan(RULES, ACCOUNTS);
  const sql = scrubWhileRestoringSql(plan, ['public.users'], columns, KEY);
  const rewrite = sql.updates[0].rewrite!;
  t.match(rewrite, /^BEGIN;\n.*\n.*\nALTER TABLE "public"."users" SET LOGGED, ALTER COLUMN "email" TYPE text USING CASE WHEN coalesce\(\(email = ANY\(ARRAY\['dev@example\.com', 'o''brien@example\.com'\]::text\[\]\)\), false\) THEN "email" ELSE /);
  t.match(rewrite, /, ALTER COLUMN "full_name" TYPE character varying\(200\) COLLATE pg_catalog\."C" USING /, 'the same type and collation');
  t.match(rewrite, /, ALTER COLUMN "phone" TYPE text COLLATE pg_catalog\."default" USING NULL, ALTER COLUMN "password_hash" TYPE text USING 'it''s';\nCOMMIT;$/);
  for (const v of plan.updates[0].values) t.ok(rewrite.includes(` USING ${v.value}`) && plan.updates[0].sql.includes(`= ${v.value}`), `${v.column}: the same value as the UPDATE's`);
  t.match(sql.updates[0].sql, /^BEGIN;\n.*\n.*\nUPDATE "public"."users"/, 'the UPDATE stays, for when PostgreSQL refuses the ALTER');
  t.equal(sql.updates[1].rewrite, undefined, 'a logged table is updated in place');
  const missing = scrubWhileRestoringSql(plan, ['public.users'], columnTypes([['public.users', 'email', 'text', '']]));
  t.equal(missing.updates[0].rewrite, undefined, 'a rule on a column the table lacks: the UPDATE, and its error');
  const sub = { ...RULES, tables: { users: { email: { fake: 'email' as const, keep_where: 'id IN (SELECT user_id FROM staff)' } } } };
  t.equal(scrubWhileRestoringSql(scrubPlan(sub, []), ['public.users'], columns).updates[0].rewrite, undefined, 'a subquery (not allowed in USING): the UPDATE');
});

t.test('withoutDataOf drops only the data entries of the named tables (schema.table)', async (t) => {
  const list = [
    ';',
    '; Selected TOC Entries:',
    '216; 1259 16390 TABLE public sessions app',
    '3370; 0 16390 TABLE DATA public sessions app',
    '3371; 0 16391 TABLE DATA public sessions_archive app',
    '3372; 0 16392 TABLE DATA public users app',
    '3373; 0 16393 TABLE DATA other sessions app',
    '3374; 0 16394 TABLE DATA crm Contacts app',
    '3200; 2606 16400 CONSTRAINT public sessions sessions_pkey app',
  ].join('\n');
  t.same(withoutDataOf(list, ['public.sessions', 'crm.Contacts']).split('\n'), [
    ';',
    '; Selected TOC Entries:',
    '216; 1259 16390 TABLE public sessions app',
    '3371; 0 16391 TABLE DATA public sessions_archive app',
    '3372; 0 16392 TABLE DATA public users app',
    '3373; 0 16393 TABLE DATA other sessions app',
    '3200; 2606 16400 CONSTRAINT public sessions sessions_pkey app',
  ]);
  t.equal(withoutDataOf(list, []), list);
  t.same(onlyDataOf(list, ['public.sessions', 'public.users', 'crm.Contacts']).split('\n'), ['3370; 0 16390 TABLE DATA public sessions app', '3372; 0 16392 TABLE DATA public users app', '3374; 0 16394 TABLE DATA crm Contacts app']);
  t.same(onlyDataOf(list, ['crm.contacts']), '', 'names are case-sensitive');
  t.equal(onlyDataOf(list, []), '');
});

t.test('keepWhereReadsOthers: the scrub waits for the other tables only when a keep_where reads them', async (t) => {
  const rules = (keep: string) => ({ version: 1 as const, tables: { users: { email: { fake: 'email' as const, keep_where: keep } }, sessions: 'truncate' as const } });
  const tables = ['public.users', 'public.staff', 'public.events', 'public.odd$name'];
  t.notOk(keepWhereReadsOthers(rules('email = ANY(:accounts)'), tables), 'its own row only');
  t.notOk(keepWhereReadsOthers(rules('users.role = $$staff_member$$'), tables), 'a word that only contains a table name');
  t.ok(keepWhereReadsOthers(rules('id IN (SELECT user_id FROM staff)'), tables), 'another table');
  t.ok(keepWhereReadsOthers(rules('EXISTS (select 1 from some_view)'), tables), 'any subquery');
  t.ok(keepWhereReadsOthers(rules('EVENTS.user_id IS NOT NULL'), tables), 'a name, whatever its case');
  t.ok(keepWhereReadsOthers(rules('x = odd$name.x'), tables), 'a name with a regular expression character');
  t.notOk(keepWhereReadsOthers({ version: 1, tables: { users: { email: { fake: 'email' } } } }, tables), 'no keep_where');
});


t.test('fakes keep NULL and are keyed expressions of the value only (deterministic, no md5 of the original)', async (t) => {
  for (const kind of ['email', 'name', 'phone', 'address', 'text', 'uuid'] as const) {
    const e = fakeExpression(kind, 'col');
    t.match(e, /^CASE WHEN "col" IS NULL THEN NULL ELSE /, kind);
    t.notMatch(e, /random|now\(\)|nextval|md5|hashtext/, `${kind} is deterministic and keyed`);
    t.match(e, /sha256\(pg_temp\.ironclad_fake_pad\('ironclad\.fake_k'\) \|\| convert_to\('[a-z]+:' \|\| "col"::text, 'UTF8'\)\)/, `${kind} is a SHA-256 keyed by the host's key`);
    t.equal(e.split('sha256(').length - 1, 1, `${kind}: one SHA-256, computed once per value`);
  }
  t.equal(new Set(fakeExpression('name', 'col').match(/'[A-Z][a-z]+ [A-Z][a-z]+'/g)).size, 64, 'a name: one of the 64 pairs of first and last names');
  t.equal(bindAccounts('x = ANY(:accounts) AND :accountsx', []), 'x = ANY(ARRAY[]::text[]) AND :accountsx');
});

t.test('renameSql closes sessions and renames inside one transaction', async (t) => {
  const sql = renameSql([['app', 'app__previous'], ['app__incoming', 'app']], ['app', 'app__incoming']);
  t.match(reopenSql(['app', "o'k"]), /datname IN \('app', 'o''k'\) AND NOT datallowconn LOOP EXECUTE format\('ALTER DATABASE %I ALLOW_CONNECTIONS true', d\)/, 'reopening: every database named that refuses sessions');
  t.match(sql, /ALTER DATABASE "app" ALLOW_CONNECTIONS false;[\s\S]*pg_terminate_backend[\s\S]*EXIT WHEN NOT EXISTS \(SELECT 1 FROM pg_stat_activity WHERE datname IN \('app', 'app__incoming'\)[\s\S]*BEGIN;\nALTER DATABASE "app" RENAME TO "app__previous";\nALTER DATABASE "app__incoming" RENAME TO "app";\nCOMMIT;$/);
});

t.test('rowMismatches', async (t) => {
  t.same(rowMismatches({ 'public.a': 1, 'public.b': 2 }, { 'public.a': 1, 'public.b': 2 }), []);
  t.same(rowMismatches({ 'public.a': 1, 'public.b': 2 }, { 'public.a': 0, 'public.c': 5 }), [
    'public.a: 0 rows restored, the manifest says 1',
    'public.b: missing rows restored, the manifest says 2',
    'public.c: 5 rows restored, the manifest says none',
  ]);
});

t.test('the scrub between data and indexes: when it must wait, and how many tables at once', async (t) => {
  const rules = (keep: string): ScrubRules => ({ version: 1, tables: { users: { email: { fake: 'email', keep_where: keep } }, customers: { name: { fake: 'name' } }, sessions: 'truncate' } });
  t.equal(scrubOrder(rules('email = ANY(:accounts)'), 4), 4, 'independent tables: in parallel, up to the jobs');
  t.equal(scrubOrder(rules('users.email = ANY(:accounts)'), 4), 4, 'a condition on its own table is still independent');
  t.equal(scrubOrder(rules('EXISTS (SELECT 1 FROM Customers c WHERE c.email = users.email)'), 4), 1, 'reads another rewritten table: one after another');
  t.equal(scrubOrder(rules('EXISTS (SELECT 1 FROM sessions s)'), 4), 4, 'a truncated table is not rewritten');
  t.equal(scrubOrder(rules('x'), 32), 8, 'never more than 8 at once');
  const post = (text: string) => ACTS_ON_UPDATES.test(text);
  t.notOk(post('CREATE TRIGGER users_search BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION f();'), "a trigger does not: production's triggers never run for the scrub");
  t.notOk(post('CREATE CONSTRAINT TRIGGER t AFTER UPDATE ON public.users'), 'nor a constraint trigger');
  t.ok(post('CREATE RULE r AS ON UPDATE TO public.users DO ALSO NOTHING;'), 'a rule');
  t.ok(post('ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_user_fkey FOREIGN KEY (user_email) REFERENCES public.users(email) ON UPDATE CASCADE;'), 'a key cascading updates');
  t.notOk(post('CREATE INDEX users_email ON public.users USING btree (email);\nALTER TABLE ONLY public.orders\n    ADD CONSTRAINT o_fk FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;'), 'indexes and plain keys do not');
  t.throws(() => sideNames('x'.repeat(54)), /at most 53 bytes/);
  t.same(sideNames('app'), { incoming: 'app__incoming', previous: 'app__previous' });
});

t.test('parallelForeignKeys takes the plain foreign keys out of the list, to be added NOT VALID and validated', async (t) => {
  const post = [
    '--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n',
    block('events events_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_pkey PRIMARY KEY (id);'),
    block('events_user_id', 'INDEX', 'CREATE INDEX events_user_id ON public.events USING btree (user_id);'),
    block('events events_user_id_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id);'),
    block('orders orders_user_id_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;'),
    block('old old_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.old\n    ADD CONSTRAINT old_fkey FOREIGN KEY (u) REFERENCES public.users(id) NOT VALID;'),
    block('parts parts_fkey', 'FK CONSTRAINT', 'ALTER TABLE public.parts\n    ADD CONSTRAINT parts_fkey FOREIGN KEY (u) REFERENCES public.users(id);'),
    block('"Odd" "Odd_fkey"', 'FK CONSTRAINT', 'ALTER TABLE ONLY public."Odd"\n    ADD CONSTRAINT "Odd_fkey" FOREIGN KEY (u) REFERENCES public.users(id);'),
    block('noted noted_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.noted\n    ADD CONSTRAINT noted_fkey FOREIGN KEY (u) REFERENCES public.users(id);'),
    block('CONSTRAINT noted_fkey ON noted', 'COMMENT', "COMMENT ON CONSTRAINT noted_fkey ON public.noted IS 'why';"),
    block('meta meta_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.meta\n    ADD CONSTRAINT meta_fkey FOREIGN KEY ("a\n\\! touch /tmp/x\n") REFERENCES public.users(id);'),
    '--\n-- PostgreSQL database dump complete\n--\n',
  ].join('');
  const list = [
    ';',
    '3232; 2606 16407 CONSTRAINT public events events_pkey app',
    '3233; 1259 16437 INDEX public events_user_id app',
    '3243; 2606 16442 FK CONSTRAINT public events events_user_id_fkey app',
    '3244; 2606 16447 FK CONSTRAINT public orders orders_user_id_fkey app',
    '3245; 2606 16448 FK CONSTRAINT public old old_fkey app',
    '3246; 2606 16449 FK CONSTRAINT public parts parts_fkey app',
    '3247; 2606 16450 FK CONSTRAINT public "Odd" "Odd_fkey" app',
    '3248; 2606 16451 FK CONSTRAINT public noted noted_fkey app',
    '3249; 2606 16452 FK CONSTRAINT public meta meta_fkey app',
  ].join('\n');
  const out = parallelForeignKeys(post, list);
  t.notOk(out.keys.some((k) => k.name === 'meta_fkey'), 'a statement with a backslash (a psql meta-command) stays with pg_restore, never reaches psql');
  t.same(out.keys, [
    { table: 'public.events', references: 'public.users', name: 'events_user_id_fkey', add: 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) NOT VALID;' },
    { table: 'public.orders', references: 'public.users', name: 'orders_user_id_fkey', add: 'ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE NOT VALID;' },
  ]);
  t.same(out.list.split('\n'), list.split('\n').filter((l) => !/events_user_id_fkey|orders_user_id_fkey/.test(l)), 'the others stay for pg_restore');
  t.same(parallelForeignKeys(post, list.split('\n').filter((l) => !l.includes('events_user_id_fkey')).join('\n')).keys.map((k) => k.name), ['orders_user_id_fkey'], 'a key without its list entry stays');
});

t.test('postDataByTable groups the indexes and constraints by their table; everything else is the rest', async (t) => {
  const post = [
    block('events events_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_pkey PRIMARY KEY (id);'),
    block('users users_email_key', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_email_key UNIQUE (email);'),
    block('events_user_id', 'INDEX', 'CREATE INDEX events_user_id ON public.events USING btree (user_id);'),
    block('users_lower', 'INDEX', 'CREATE UNIQUE INDEX users_lower ON public.users USING btree (lower(email));'),
    block('parts_idx', 'INDEX', 'CREATE INDEX parts_idx ON ONLY public.parts USING btree (id);'),
    block('"Odd" "Odd_pkey"', 'CONSTRAINT', 'ALTER TABLE ONLY public."Odd"\n    ADD CONSTRAINT "Odd_pkey" PRIMARY KEY (id);'),
    block('orders orders_fkey', 'FK CONSTRAINT', 'ALTER TABLE ONLY public.orders\n    ADD CONSTRAINT orders_fkey FOREIGN KEY (u) REFERENCES public.users(id) ON UPDATE CASCADE;'),
    block('users users_audit', 'TRIGGER', 'CREATE TRIGGER users_audit AFTER DELETE ON public.users FOR EACH ROW EXECUTE FUNCTION public.audit();'),
  ].join('');
  const list = [
    ';',
    '; Selected TOC Entries:',
    '3232; 2606 16407 CONSTRAINT public events events_pkey app',
    '3233; 2606 16408 CONSTRAINT public users users_email_key app',
    '3234; 1259 16437 INDEX public events_user_id app',
    '3235; 1259 16438 INDEX public users_lower app',
    '3236; 1259 16439 INDEX public parts_idx app',
    '3237; 2606 16440 CONSTRAINT public "Odd" "Odd_pkey" app',
    '3238; 2606 16441 FK CONSTRAINT public orders orders_fkey app',
    '3239; 2620 16442 TRIGGER public users users_audit app',
  ].join('\n');
  const { tables, rest } = postDataByTable(post, list);
  t.same([...tables.entries()], [
    ['events', ['3232; 2606 16407 CONSTRAINT public events events_pkey app', '3234; 1259 16437 INDEX public events_user_id app']],
    ['users', ['3233; 2606 16408 CONSTRAINT public users users_email_key app', '3235; 1259 16438 INDEX public users_lower app']],
    ['parts', ['3236; 1259 16439 INDEX public parts_idx app']],
  ]);
  t.same(rest, ['3237; 2606 16440 CONSTRAINT public "Odd" "Odd_pkey" app', '3238; 2606 16441 FK CONSTRAINT public orders orders_fkey app', '3239; 2620 16442 TRIGGER public users users_audit app'], 'a quoted name, the keys pg_restore keeps and other kinds: after all the tables');
  const all = [...[...tables.values()].flat(), ...rest].sort();
  t.same(all, list.split('\n').filter((l) => /^\d+;/.test(l)).sort(), 'every entry restored once');
});

t.test('uniqueKeys: the plain primary keys and unique constraints, built on unique indexes; the others stay for pg_restore', async (t) => {
  const post = [
    block('events events_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_pkey PRIMARY KEY (id);'),
    block('users users_email_key', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_email_key UNIQUE (email, tenant);'),
    block('users users_ff', 'CONSTRAINT', "ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_ff UNIQUE (x) WITH (fillfactor='70');"),
    block('users users_def', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_def UNIQUE (y) DEFERRABLE;'),
    block('users users_nn', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_nn UNIQUE NULLS NOT DISTINCT (z);'),
    block('users users_q', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_q UNIQUE ("Odd");'),
    block('users users_check', 'CONSTRAINT', 'ALTER TABLE public.users\n    ADD CONSTRAINT users_check CHECK ((id > 0)) NOT VALID;'),
    block('users users_noted', 'CONSTRAINT', 'ALTER TABLE ONLY public.users\n    ADD CONSTRAINT users_noted UNIQUE (w);'),
    block('CONSTRAINT users_noted ON users', 'COMMENT', "COMMENT ON CONSTRAINT users_noted ON public.users IS 'why';"),
  ].join('');
  const lines = ['events events_pkey', 'users users_email_key', 'users users_ff', 'users users_def', 'users users_nn', 'users users_q', 'users users_check', 'users users_noted'].map((n, i) => `${3200 + i}; 2606 ${16400 + i} CONSTRAINT public ${n} app`);
  const keys = uniqueKeys(post, lines);
  t.same(keys.map((k) => [k.name, k.kind, k.line]), [
    ['events_pkey', 'PRIMARY KEY', lines[0]],
    ['users_email_key', 'UNIQUE', lines[1]],
  ]);
  t.equal(keys[0].index, 'CREATE UNIQUE INDEX events_pkey ON public.events USING btree (id);');
  t.equal(keys[0].constraint, 'ALTER TABLE ONLY public.events ADD CONSTRAINT events_pkey PRIMARY KEY USING INDEX events_pkey;');
  t.equal(keys[1].index, 'CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email, tenant);');
  t.equal(keys[0].statement, 'ALTER TABLE ONLY public.events\n    ADD CONSTRAINT events_pkey PRIMARY KEY (id);', "the dump's own statement, for when PostgreSQL refuses");
  t.same(uniqueKeys(post, lines.slice(1)).map((k) => k.name), ['users_email_key'], 'a key without its list entry stays');
  t.same(uniqueKeys(post + block('events_pkey_1', 'INDEX ATTACH', 'ALTER INDEX public.events_pkey ATTACH PARTITION public.events_1_pkey;'), lines).map((k) => k.name), ['users_email_key'], "a partitioned table's stays");
  t.same(uniqueKeys("SET default_tablespace = fast;\n" + post, lines), [], 'none when the dump sets a tablespace');
  t.same(uniqueKeys("SET default_tablespace = '';\n" + post, lines).length, 2, "the default tablespace ('') is no tablespace");
});
