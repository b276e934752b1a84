// End to end on lab hosts: the staging refresh from the backup store, a second refresh refused while one runs, an
// interrupted copy resumed, production's rows and keys on staging, the swap back; a view on a scrubbed column.
// (Failures and refusals: refresh-failures.test.ts; an application's schema, partitions and grants: refresh-schema.test.ts.)
import { execFileSync, spawn } from 'node:child_process';
import t from 'tap';
import { BIN, ironclad } from './helpers/cli.js';
import { labUnavailable } from './helpers/lab.js';
import { journal, refreshLab } from './helpers/refresh.js';

async function main() {
  const { lab, inv, sql, marker } = await refreshLab(t);

  await t.test('a second refresh is refused while one runs; an interrupted copy resumes with --resume and completes the refresh', async (t) => {
    await sql('db-prod', 'app', "SET ROLE app; CREATE TABLE blobs AS SELECT g, md5(g::text) || md5((g*3)::text) || md5((g*7)::text) AS junk FROM generate_series(1, 150000) g;" +
      ' ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id); ALTER TABLE events ADD FOREIGN KEY (user_id) REFERENCES users (id); ALTER TABLE sessions ADD FOREIGN KEY (user_id) REFERENCES users (id);');
    // production publishes (one its owner made, one FOR ALL TABLES) and has an event trigger that fails any DDL outside
    // app: a staging copy never gets any of them (restore-production restores the first: restore-production.test.ts)
    await sql('db-prod', 'app', `SET ROLE app; CREATE PUBLICATION pub_orders FOR TABLE orders, users (id, email); RESET ROLE;
      CREATE PUBLICATION pub_all FOR ALL TABLES;
      CREATE FUNCTION public.et_guard() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN IF current_database() <> 'app' THEN RAISE EXCEPTION 'et_audit ran in %', current_database(); END IF; END $$;
      CREATE EVENT TRIGGER et_audit ON ddl_command_start EXECUTE FUNCTION public.et_guard();
      COMMENT ON EVENT TRIGGER et_audit IS 'the DDL guard'; COMMENT ON PUBLICATION pub_all IS 'every table, downstream';
      COMMENT ON PUBLICATION pub_orders IS 'the orders feed';`);
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'bigger backup');
    t.equal((await ironclad([...inv, 'backup', 'verify', '--latest', '--restore'])).code, 0, 'verified');
    const link = lab.host('backup-far').link;
    execFileSync('tc', ['qdisc', 'add', 'dev', link, 'root', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '400ms']);
    let out = '';
    try {
      const child = spawn(process.execPath, [BIN, ...inv, '--yes', 'refresh', 'staging'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const copying = new Promise<void>((resolve) =>
        child.stdout.on('data', (d) => {
          out += d;
          if (/3\. copy/.test(out)) resolve();
        }),
      );
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      await copying;
      // a second refresh while the first copies: refused, nothing of the first touched
      const second = await ironclad([...inv, '--yes', 'refresh', 'staging']);
      t.equal(second.code, 3, 'a second refresh at the same time is refused');
      t.match(second.stderr + second.stdout, /another refresh or restore into app on staging is running \(ironclad on \S+ \(pid \d+\) since /);
      child.kill('SIGINT');
      t.equal(await closed, 130, 'interrupted');
      // the discard stopped the copy's fetch (a process group of its own) before removing the copy: nothing is fetched
      // or written on staging after it
      const left = () => lab.sshOk('staging', "find /var/lib/ironclad/refresh -mindepth 1 -maxdepth 1 -type d; ps -eo args | grep '[r]efresh_ed25519' || true");
      t.equal((await left()).trim(), '', 'no copy and no fetch left on staging');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      t.equal((await left()).trim(), '', 'nor a moment later');
      t.match(out, /removed the copied backup/, 'the discard ran');
    } finally {
      execFileSync('tc', ['qdisc', 'del', 'dev', link, 'root']);
    }
    t.equal(await marker(), 'the staging before', 'still the staging before');
    const runId = journal(out);
    t.ok(runId, 'a run id to resume');
    const r = await ironclad([...inv, '--yes', 'refresh', 'staging', '--resume', runId!]);
    t.equal(r.code, 0, r.stdout.split('\n').slice(-5).join('\n'));
    t.match(r.stdout, /1\. guard: never a production host/, 'the guard runs again on --resume');
    t.match(r.stdout, /3\. copy: /, 'the interrupted copy was discarded (nothing left behind) and is made again');
    t.match(r.stdout, /restored \d+ tables into app__incoming as ironclad_app \(not a superuser\)/);
    t.match(r.stdout, /the old one is kept as app__previous \(ironclad refresh staging --swap-back puts it back\)/);
    t.match(r.stdout, /3 foreign keys checked, up to \d+ at once/, 'the foreign keys were added NOT VALID and validated by ironclad');
    t.match(r.stdout, /scanned \d+ columns of [4-9] tables in 1 schemas for personal data beside the index build/);
    t.match(r.stdout, /(users, orders|orders, users) copied once with the new values by ALTER TABLE \.\.\. SET LOGGED, ALTER COLUMN \.\.\. USING/);
    t.match(r.stdout, /newest event: /);
    const notRestored = /not restored \(a copy never replicates, and event triggers are for superusers\): ([^\n]*)/.exec(r.stdout)?.[1] ?? '';
    t.same(notRestored.split('; ').map((e) => e.replace(/ \S+$/, '')).sort(), ['EVENT TRIGGER - et_audit', 'PUBLICATION - pub_all', 'PUBLICATION - pub_orders', 'PUBLICATION TABLE public pub_orders orders', 'PUBLICATION TABLE public pub_orders users'], 'every publication and the event trigger left out, and named');
    t.equal(await sql('staging', 'app', "SELECT (SELECT count(*) FROM pg_publication) || ' ' || (SELECT count(*) FROM pg_event_trigger)"), '0 0', 'staging publishes nothing and has no event trigger');
  });


  await t.test("after the refresh: production's rows, no personal data of non-listed accounts, listed accounts admins", async (t) => {
    for (const table of ['users', 'events', 'orders', 'blobs'])
      t.equal(await sql('staging', 'app', `SELECT count(*) FROM ${table}`), await sql('db-prod', 'app', `SELECT count(*) FROM ${table}`), `${table}: same rows`);
    t.equal(await sql('staging', 'app', 'SELECT count(*) FROM payment_methods'), '0', 'payment_methods truncated');
    const prod = (await sql('db-prod', 'app', "SELECT email || '|' || full_name || '|' || coalesce(phone, '') FROM users WHERE email NOT IN ('dev@example.com', 'qa@example.com')")).split('\n');
    const staging = await sql('staging', 'app', "SELECT email || '|' || full_name || '|' || coalesce(phone, '') FROM users");
    const leaked = prod.flatMap((row) => row.split('|')).filter((v) => v && staging.includes(v));
    t.same(leaked, [], 'no original email, name or phone remains');
    t.equal(await sql('staging', 'app', "SELECT string_agg(email || ':' || role, ',' ORDER BY email) FROM users WHERE role = 'admin'"), 'dev@example.com:admin,qa@example.com:admin');
    t.equal(await sql('staging', 'app_' + '_previous', 'SELECT note FROM staging_marker'), 'the staging before', 'the previous database is kept');
    const keys = "SELECT string_agg(conrelid::regclass || '.' || conname || ' ' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE contype = 'f'";
    t.equal(await sql('staging', 'app', keys), 'events.events_user_id_fkey true,orders.orders_user_id_fkey true,sessions.sessions_user_id_fkey true', 'the foreign keys, added NOT VALID and validated in parallel, are valid');
    t.equal(await sql('staging', 'app', keys), await sql('db-prod', 'app', keys), "production's foreign keys");
    const constraints = "SELECT string_agg(conrelid::regclass || '.' || conname || ' ' || contype::text || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated, E'\\n' ORDER BY conname) FROM pg_constraint WHERE connamespace = 'public'::regnamespace";
    t.equal(await sql('staging', 'app', constraints), await sql('db-prod', 'app', constraints), "production's constraints, each as it is there (primary keys and unique constraints on the unique indexes ironclad built)");
    const indexes = "SELECT string_agg(indexdef, E'\\n' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'";
    t.equal(await sql('staging', 'app', indexes), await sql('db-prod', 'app', indexes), "production's indexes");
    t.match(await sql('staging', 'app', constraints), /users\.users_pkey p PRIMARY KEY \(id\) true/);
  });


  await t.test('swap back puts the previous database in place', async (t) => {
    const r = await ironclad([...inv, '--yes', 'refresh', 'staging', '--swap-back']);
    t.equal(r.code, 0, r.stdout);
    t.equal(await marker(), 'the staging before');
  });


  await t.test('a view on a scrubbed column: PostgreSQL refuses the one-pass rewrite of its table, which is updated instead', async (t) => {
    await sql('db-prod', 'app', 'SET ROLE app; CREATE VIEW user_emails AS SELECT id, email FROM users;');
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'backup');
    t.equal((await ironclad([...inv, 'backup', 'verify', '--latest', '--restore'])).code, 0, 'verified');
    const r = await ironclad([...inv, '--yes', 'refresh', 'staging']);
    t.equal(r.code, 0, r.stdout.split('\n').slice(-5).join('\n'));
    t.match(r.stdout, /users: one ALTER TABLE could not rewrite it \(cannot alter type of a column used by a view or rule\); updated instead/);
    t.match(r.stdout, /; orders copied once with the new values/);
    t.equal(await sql('staging', 'app', "SELECT count(*) FROM user_emails WHERE email NOT LIKE '%@example.invalid' AND email NOT IN ('dev@example.com', 'qa@example.com')"), '0', 'scrubbed all the same');
    t.equal(await sql('staging', 'app', 'SELECT count(*) FROM users'), await sql('db-prod', 'app', 'SELECT count(*) FROM users'));
    await sql('db-prod', 'app', 'SET ROLE app; DROP VIEW user_emails;');
  });

}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
