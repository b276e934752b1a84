// End to end on lab hosts: the incident runbook as an operator runs it, onto the production host itself and onto a
// freshly provisioned replacement, each through to the swap: the damaged database kept under a name with its time,
// a declined confirmation changing nothing (exit 3), a run that failed in the middle resumed, the swap undone.
// Production's publications: the one its owner made (FOR TABLE) restored, the FOR ALL TABLES one and an event trigger
// left out, named in the report (text and --json) and the confirmation, never run as superuser.
// The shared lab plus one host of this test's own (ip-spare, host 40 of the lab's subnet): provisioned by apply with an empty
// cluster, and db-prod's drill host, so it holds an identity db-prod's backups are encrypted to.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BIN, ironclad, type CliResult } from './helpers/cli.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planLab } from '../../src/lab/plan.js';
import { LAB_INVENTORY, labAddress, labUnavailable, reText, withLab } from './helpers/lab.js';
import { tempDir } from '../fixtures/tmp.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const BOOK = new URL('../../runbooks/restore-production.yaml', import.meta.url).pathname;
const BACK = new URL('../../runbooks/restore-production-swap-back.yaml', import.meta.url).pathname;

const PLAN = planLab(loadInventory(LAB_INVENTORY));
const SPARE_ADDRESS = labAddress(PLAN, 40);
const SPARE = `  ip-spare:
    address: ${SPARE_ADDRESS}
    tags: [production]
    postgres:
      cluster: main
      port: 5432
      listen: [127.0.0.1, ${SPARE_ADDRESS}]
      roles:
        - name: app
          login: true
          password: { file: ${PLAN.stateDir}/secrets/app.pw }
      databases:
        - name: app
          owner: app

`;

/** The lab inventory with ip-spare added, as db-prod's drill host. */
function inventory(): string {
  const dir = tempDir('ironclad-ip-');
  mkdirSync(join(dir, 'scrub'));
  writeFileSync(join(dir, 'scrub', 'app.yaml'), readFileSync(new URL('../../inventory/scrub/app.yaml', import.meta.url), 'utf8'));
  const lab = readFileSync(LAB_INVENTORY, 'utf8');
  const text = lab.replace('\n  staging:\n', `\n${SPARE}  staging:\n`).replace('      expect:\n        min_tables: 3', '      drill: { host: ip-spare }\n      expect:\n        min_tables: 3');
  if (!text.includes('ip-spare:') || !text.includes('drill: { host: ip-spare }')) throw new Error('the lab inventory changed shape: ip-spare not added');
  writeFileSync(join(dir, 'lab.yaml'), text);
  return join(dir, 'lab.yaml');
}

/** The CLI on a terminal (script(1) gives it a pty): `answer` is typed when the confirmation asks (after `atPrompt`). */
function onTerminal(args: string[], answer: string, atPrompt: () => Promise<void> = async () => undefined): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let typed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!typed && /Type '[^']+' to continue: /.test(stdout)) {
        typed = true;
        void atPrompt().finally(() => child.stdin.write(`${answer}\n`));
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.end();
      resolve({ code: code ?? 1, stdout: stdout.replace(/\r/g, ''), stderr: '' });
    });
  });
}

async function main() {
  const file = inventory();
  const lab = await withLab(t, { inventoryFile: file });
  const inv = ['-i', file];
  const sql = async (host: string, db: string, text: string) =>
    (await lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text })).trim();
  const documented = (target: string) => ['runbook', 'run', BOOK, '--set', 'source=db-prod', '--set', 'database=app', '--set', `target=${target}`];
  const runId = (stdout: string) => /restore-production: run (\S+)/.exec(stdout)?.[1];
  const COUNTS = "SELECT (SELECT count(*) FROM users) || ' ' || (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM orders)";
  /** What a run may change on a host: its databases, owners and connection rights, the copied backups, the SQL of
   *  what a restore left out, the role's login. */
  const state = async (host: string) => ({
    databases: await sql(host, 'postgres', "SELECT string_agg(datname || ':' || pg_get_userbyid(datdba) || ':' || datallowconn, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate"),
    copies: (await lab.sshOk(host, 'ls /var/lib/ironclad/refresh/ 2>/dev/null | grep -v "\\.lock$" || true')).trim(),
    leftOut: (await lab.sshOk(host, 'ls /var/lib/ironclad/left-out/ 2>/dev/null || true')).trim(),
    login: await sql(host, 'postgres', "SELECT coalesce(bool_or(rolcanlogin), false) FROM pg_roles WHERE rolname = 'ironclad_app'"),
  });
  let backup = '';
  /** The FOR TABLE publication's tables, columns and row filters (pub_all, FOR ALL TABLES, lists every table: not it). */
  const PUBLISHED = "SELECT coalesce(string_agg(pubname || ':' || schemaname || '.' || tablename || ':' || coalesce(attnames::text, '') || ':' || coalesce(rowfilter, ''), ',' ORDER BY pubname, tablename), '') FROM pg_publication_tables WHERE pubname <> 'pub_all'";
  let published = '';

  await t.test('setup: provisioned (ip-spare with an empty cluster), production seeded, backed up, drilled on ip-spare', async (t) => {
    const apply = await ironclad([...inv, 'apply', '--yes']);
    t.equal(apply.code, 0, apply.stdout.split('\n').slice(-8).join('\n'));
    t.equal(await sql('ip-spare', 'app', 'SELECT count(*) FROM pg_tables WHERE schemaname = \'public\''), '0', 'ip-spare: app is empty');
    await sql('db-prod', 'app', SEED);
    // production publishes to downstream systems: a publication its owner made (FOR TABLE, a row filter, a column list),
    // one only a superuser makes (FOR ALL TABLES), and an event trigger that fails every DDL statement but production's
    await sql('db-prod', 'app', `SET ROLE app; CREATE PUBLICATION pub_orders FOR TABLE orders WHERE (id > 0), users (id, email); RESET ROLE;
      CREATE PUBLICATION pub_all FOR ALL TABLES;
      CREATE FUNCTION public.et_guard() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN IF current_database() <> 'app' THEN RAISE EXCEPTION 'et_audit ran in %', current_database(); END IF; END $$;
      CREATE EVENT TRIGGER et_audit ON ddl_command_start EXECUTE FUNCTION public.et_guard();
      COMMENT ON EVENT TRIGGER et_audit IS 'the DDL guard'; COMMENT ON PUBLICATION pub_all IS 'every table, downstream';
      COMMENT ON PUBLICATION pub_orders IS 'the orders feed';
      CREATE SCHEMA feed AUTHORIZATION app; CREATE PUBLICATION pub_feed FOR TABLES IN SCHEMA feed;
      CREATE SUBSCRIPTION sub_in CONNECTION 'host=/nonexistent dbname=upstream password=s3cret-sub' PUBLICATION upstream WITH (connect = false);`);
    published = await sql('db-prod', 'app', PUBLISHED);
    t.match(published, /^pub_orders:public\.orders:[^:]*:\(id > 0\),pub_orders:public\.users:\{id,email\}:$/, 'the FOR TABLE publication as production has it: a row filter, a column list');
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'backup');
    const verify = await ironclad([...inv, 'backup', 'verify', '--latest', '--restore']);
    t.equal(verify.code, 0, verify.stdout);
    backup = await sql('db-prod', 'app', COUNTS);
    // the incident: after the backup, new events come in and the orders are deleted by mistake
    await sql('db-prod', 'app', "SET ROLE app; INSERT INTO events (created_at, kind, user_id) SELECT now() + interval '1 second', 'after-backup', 1 FROM generate_series(1, 25); DELETE FROM orders;");
  });

  await t.test('--dry-run: the plan, the swap behind a confirmation naming the host; nothing changed', async (t) => {
    const before = await state('db-prod');
    const r = await ironclad([...inv, ...documented('db-prod'), '--dry-run']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /7\. swap {2}\[destructive: needs confirmation\] \(type 'db-prod', or --yes\)/);
    t.match(r.stdout, /app is renamed app__damaged_<now, UTC> and kept \(nothing is dropped\)/);
    t.same(await state('db-prod'), before);
  });

  await t.test('a typo naming a refresh target is refused at once (exit 3): production data never goes to staging unscrubbed', async (t) => {
    const before = await state('staging');
    const r = await ironclad([...inv, '--yes', ...documented('staging')]);
    t.equal(r.code, 3, r.stdout);
    t.match(r.stdout, /staging is the target of refresh 'staging', whose data must be scrubbed/);
    t.same(await state('staging'), before);
  });

  await t.test("refused at once (exit 3): a replacement whose inventory address is really production's machine", async (t) => {
    const wrong = file.replace(/lab\.yaml$/, 'wrong.yaml');
    const prod = lab.host('db-prod').address;
    writeFileSync(wrong, readFileSync(file, 'utf8').replace(`address: ${prod}\n`, `address: ${labAddress(PLAN, 98)}\n`).replace(`address: ${SPARE_ADDRESS}\n`, `address: ${prod}\n`));
    const before = await state('db-prod');
    const r = await ironclad(['-i', wrong, '--yes', ...documented('ip-spare')]);
    t.equal(r.code, 3, r.stdout + r.stderr);
    t.match(r.stdout, `ip-spare (${prod}) runs the very cluster db-prod's backups come from`);
    t.same(await state('db-prod'), before);
  });

  await t.test('a declined confirmation changes nothing (exit 3): no terminal and no --yes, or the wrong name typed', async (t) => {
    const before = await state('db-prod');
    const damaged = await sql('db-prod', 'app', COUNTS);
    const silent = await ironclad([...inv, ...documented('db-prod')]);
    t.equal(silent.code, 3, silent.stdout.split('\n').slice(-6).join('\n'));
    t.match(silent.stdout, /the very cluster db-prod's backups were taken from \(an in-place restore\)/, 'the target step says which cluster');
    t.match(silent.stdout, /the restored data is backup \S+, committed to the store at \d{4}-\d\d-\d\dT[\d:.]+Z/, 'the time the data represents');
    t.match(silent.stdout, /its newest event \(events\.created_at\): \d{4}-/);
    t.match(silent.stdout, /after it, app on db-prod has 25 events rows newer than the backup's newest event/, 'what came after it');
    t.match(silent.stdout, /orders \d+ -> 0 \(-\d+\)/, 'the deleted rows');
    t.match(silent.stdout, /publications: 4 entries restored as this plain role, 4 left out/);
    t.match(silent.stdout, /restored as a plain role, owned by the database's owner after the swap: (publication pub_feed, publication pub_orders|publication pub_orders, publication pub_feed), publication table pub_orders: public\.orders, publication table pub_orders: public\.users/);
    t.match(silent.stdout, /LEFT OUT of the restored database \(4; nothing of the dump is ever run as superuser\)/, 'the report names what is left out');
    t.match(silent.stdout, /- publication pub_all: FOR ALL TABLES: PostgreSQL 15 lets only a superuser create such a publication\n\s+how: read \/var\/lib\/ironclad\/left-out\/\S+\/\d+\.sql .*as root on db-prod: su postgres -c 'psql -X -v ON_ERROR_STOP=1 -d app' < /);
    t.match(silent.stdout, /- event trigger et_audit: PostgreSQL lets only a superuser create an event trigger/);
    t.match(silent.stdout, /- publication tables in schema pub_feed: TABLES IN SCHEMA feed: /, "a TABLES IN SCHEMA membership: left out, its publication restored");
    t.match(silent.stdout, /- subscription sub_in: [^\n]*\n\s+how: [^\n]*ALTER SUBSCRIPTION "?sub_in"? ENABLE/, 'the subscription: left out, with how to bring it back');
    t.notMatch(silent.stdout + silent.stderr, /s3cret-sub/, "the subscription's password is never printed");
    t.match(silent.stdout, /confirmation declined for destructive step 'swap' \(type 'db-prod'/);
    t.match(silent.stdout, /on failure: discard[\s\S]*dropped app__incoming/);
    let second: CliResult | undefined;
    const typed = await onTerminal([...inv, ...documented('db-prod')], 'db-prd', async () => {
      second = await ironclad([...inv, '--yes', ...documented('db-prod')]);
    });
    t.equal(second?.code, 3, 'a second run while the first waits for its confirmation: refused');
    t.match(second?.stdout, /another refresh or restore into app on db-prod is running \(ironclad on \S+ \(pid \d+\) since /);
    t.equal(typed.code, 3, typed.stdout.split('\n').slice(-6).join('\n'));
    t.match(typed.stdout, new RegExp(`Step 'swap' is destructive: onto db-prod \\(address ${reText(lab.host('db-prod').address)}, hostname \\S+, marked production\\), cluster 15/main on port 5432, system identifier \\d+`), 'the confirmation names host and cluster');
    t.match(typed.stdout, /Not in the restored data: 25 events rows after the backup/);
    const named = /Left out of the restored data \(4, see the report's how\): ([^\n]*)\./.exec(typed.stdout)?.[1].split(', ').sort();
    t.same(named, ['event trigger et_audit', 'publication pub_all', 'publication tables in schema pub_feed: TABLES IN SCHEMA feed', 'subscription sub_in'], 'the confirmation says what is left out');
    t.same(await state('db-prod'), before, 'no database made, renamed or closed; no copy left; no login');
    t.equal(await sql('db-prod', 'app', COUNTS), damaged, 'the live database as it was');
  });

  let kept = '';
  await t.test('onto db-prod itself: a failed copy, then a failed swap, each resumed, through to the swap; the damaged database kept', async (t) => {
    const [b] = JSON.parse((await ironclad([...inv, '--json', 'backup', 'list', '--host', 'db-prod'])).stdout).backups;
    const f = (await lab.sshOk('backup-far', `find "$(find /srv/ironclad/backups -type d -name '${b.id}' | head -1)" -type f -printf '%s %p\\n' | sort -n | tail -1 | cut -d' ' -f2-`)).trim();
    await lab.sshOk('backup-far', `cp ${f} /tmp/ip-good.dump && chmod u+w ${f} && printf 'XXXX' | dd of=${f} bs=1 seek=300 conv=notrunc 2>/dev/null`);
    let failed: CliResult;
    try {
      failed = await ironclad([...inv, '--yes', ...documented('db-prod')]);
    } finally {
      await lab.sshOk('backup-far', `cat /tmp/ip-good.dump > ${f} && chmod a-w ${f} && rm /tmp/ip-good.dump`);
    }
    t.equal(failed.code, 1, failed.stdout.split('\n').slice(-6).join('\n'));
    t.match(failed.stdout, /step 'copy' FAILED/);
    // a swap that cannot end a session (its backend stopped, so it cannot act on being terminated) fails after the
    // hand-over: every database as it was and accepting connections, the copy still known as the run's and dropped
    const before = await state('db-prod');
    await lab.sshOk('db-prod', `cd / && (setsid su postgres -c "psql -X -q -d app -c 'SELECT pg_sleep(601)'" </dev/null >/dev/null 2>&1 &)`);
    let stuck = '';
    for (let i = 0; i < 50 && !stuck; i++) {
      stuck = await sql('db-prod', 'postgres', "SELECT coalesce(max(pid)::text, '') FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%pg_sleep(601)%' AND pid <> pg_backend_pid()");
      if (!stuck) await new Promise((r) => setTimeout(r, 100));
    }
    t.match(stuck, /^\d+$/, 'a session whose backend will be stopped');
    await lab.sshOk('db-prod', `kill -STOP ${stuck}`);
    // (resumed once the swap has failed: dropping the copy waits for every backend, the stopped one too)
    const swapFailed = await new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...inv, '--yes', 'runbook', 'run', BOOK, '--resume', runId(failed.stdout)!], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let resumed = false;
      const resume = () => {
        if (resumed) return;
        resumed = true;
        lab.sshOk('db-prod', `kill -CONT ${stuck}`).catch(() => undefined);
      };
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/step 'swap' FAILED/.test(stdout)) resume();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        resume();
        resolve({ code: code ?? 1, stdout, stderr: '' });
      });
    });
    t.equal(swapFailed.code, 1, swapFailed.stdout.split('\n').slice(-8).join('\n'));
    t.match(swapFailed.stdout, /step 'swap' FAILED: .*being accessed by other users/);
    t.match(swapFailed.stdout, /on failure: discard[\s\S]*dropped app__incoming/, "the copy still known as the run's own, and dropped");
    t.same(await state('db-prod'), before, 'every database as it was, accepting connections; nothing left behind');
    // an application session on the damaged database: the swap ends it
    await lab.sshOk('db-prod', `cd / && (setsid su postgres -c "psql -X -q -d app -c 'SELECT pg_sleep(600)'" </dev/null >/dev/null 2>&1 &)`);
    const sleeping = (db: string) => sql('db-prod', 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()`);
    for (let i = 0; i < 50 && (await sleeping('app')) !== '1'; i++) await new Promise((r) => setTimeout(r, 100));
    t.equal(await sleeping('app'), '1', 'a session of the application on app');
    // (--json: the progress on stderr, one JSON document on stdout)
    const r = await ironclad([...inv, '--yes', '--json', 'runbook', 'run', BOOK, '--resume', runId(failed.stdout)!]);
    t.equal(r.code, 0, r.stderr.split('\n').slice(-10).join('\n'));
    t.match(r.stderr, /1\. target: /, 'the target step runs again on --resume');
    t.match(r.stderr, /2\. pick: already done/);
    t.match(r.stderr, /every row count as in the manifest/);
    t.match(r.stderr, /the damaged app is kept as (app__damaged_\d{8}T\d{4}Z), untouched/);
    kept = /kept as (app__damaged_\d{8}T\d{4,6}Z)/.exec(r.stderr)![1];
    const doc = JSON.parse(r.stdout) as { outcome: string; steps: { name: string; output?: { left_out?: { kind: string; name: string; why: string; how: string; file?: string }[]; publications?: string[] } }[] };
    t.equal(doc.outcome, 'done');
    const report = doc.steps.find((x) => x.name === 'report')?.output;
    const leftOut = report?.left_out ?? [];
    t.same(leftOut.map((l) => `${l.kind} ${l.name}`).sort(), ['event trigger et_audit', 'publication pub_all', 'publication tables in schema pub_feed: TABLES IN SCHEMA feed', 'subscription sub_in'], '--json: left_out names each, by kind and name');
    t.ok(leftOut.every((l) => l.why && l.file && l.how.includes(`as root on db-prod: su postgres -c 'psql -X -v ON_ERROR_STOP=1 -d app' < ${l.file}`)), 'with why, how and the file of its SQL');
    t.notMatch(r.stdout + r.stderr, /s3cret-sub/, "the subscription's password is in no output (only in its root-only file)");
    const sub = leftOut.find((l) => l.kind === 'subscription')!.file!;
    t.match(await lab.sshOk('db-prod', `cat ${sub}`), /CREATE SUBSCRIPTION sub_in CONNECTION '[^']*password=s3cret-sub' PUBLICATION upstream WITH \(connect = false/, 'its SQL kept, root-only, as pg_dump wrote it');
    t.same([...(report?.publications ?? [])].sort(), ['publication pub_feed', 'publication pub_orders', 'publication table pub_orders: public.orders', 'publication table pub_orders: public.users']);
    // restored as the plain role, the owner's after the swap: the same tables, columns and row filters as production's
    t.equal(await sql('db-prod', 'app', PUBLISHED), published, "pg_publication_tables as production's, after the swap");
    t.equal(await sql('db-prod', 'app', "SELECT string_agg(pubname || ':' || pg_get_userbyid(pubowner) || ':' || puballtables, ',' ORDER BY pubname) FROM pg_publication"), 'pub_feed:app:false,pub_orders:app:false', "the plain publications, owned by app; pub_all not (FOR ALL TABLES)");
    t.equal(await sql('db-prod', 'app', "SELECT count(*) FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = 'app')"), '0', 'no subscription in the restored database');
    t.equal(await sql('db-prod', 'app', 'SELECT count(*) FROM pg_event_trigger'), '0', 'the event trigger was never made (nor run)');
    t.equal(await sql('db-prod', 'app', "SELECT obj_description(oid, 'pg_publication') FROM pg_publication WHERE pubname = 'pub_orders'"), 'the orders feed', "the restored publication's comment came with it (the left-out ones' comments were left out with them)");
    t.equal(await sql('db-prod', kept, "SELECT string_agg(evtname, ',') FROM pg_event_trigger"), 'et_audit', 'the damaged database keeps its own');
    // the how, followed for pub_all: its SQL read (root's only), then run as postgres
    const file = leftOut.find((l) => l.name === 'pub_all')!.file!;
    t.equal((await lab.sshOk('db-prod', `stat -c '%a %U' ${file} "$(dirname ${file})"`)).trim(), '600 root\n700 root');
    t.match(await lab.sshOk('db-prod', `cat ${file}`), /^CREATE PUBLICATION pub_all FOR ALL TABLES WITH \(publish = 'insert, update, delete, truncate'\);$/m);
    await lab.sshOk('db-prod', `cd / && ${/as root on db-prod: (.*)$/.exec(leftOut.find((l) => l.name === 'pub_all')!.how)![1]}`);
    t.equal(await sql('db-prod', 'app', "SELECT puballtables FROM pg_publication WHERE pubname = 'pub_all'"), 't', 'pub_all back, by the operator, as the how says');
    t.equal(await sql('db-prod', 'app', COUNTS), backup, "app is the backup's data again");
    t.equal(await sql(`db-prod`, kept, "SELECT count(*) FROM events WHERE kind = 'after-backup'"), '25', 'the damaged database kept, with what came after the backup');
    t.equal(await sql('db-prod', kept, 'SELECT count(*) FROM orders'), '0');
    t.equal(await sql('db-prod', 'postgres', `SELECT string_agg(datname || ':' || pg_get_userbyid(datdba) || ':' || datallowconn, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'`), `app:app:true,${kept}:app:true`, 'owned by app, open, nothing else left');
    t.equal(await sql('db-prod', 'postgres', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()"), '0', "the application's session was ended");
    t.same((await state('db-prod')).copies, '', 'the copied backup removed');
    const password = readFileSync(join(PLAN.stateDir, 'secrets/app.pw'), 'utf8').trim();
    const asApp = execFileSync('psql', ['-X', '-A', '-t', '-h', lab.host('db-prod').address, '-U', 'app', '-d', 'app', '-c', 'SELECT count(*) FROM orders'], { env: { ...process.env, PGPASSWORD: password } });
    t.equal(asApp.toString().trim(), backup.split(' ')[2], 'the application logs in with its own password and sees the orders again');
  });

  await t.test('the swap back puts the damaged database in place again and keeps the restored one; nothing dropped', async (t) => {
    const r = await ironclad([...inv, '--yes', 'runbook', 'run', BACK, '--set', 'host=db-prod', '--set', 'database=app', '--set', `kept=${kept}`]);
    t.equal(r.code, 0, r.stdout.split('\n').slice(-6).join('\n'));
    const restored = /the restored one is kept as (app__restored_\d{8}T\d{4,6}Z)/.exec(r.stdout)?.[1];
    t.ok(restored, r.stdout);
    t.equal(await sql('db-prod', 'app', 'SELECT count(*) FROM orders'), '0', 'the damaged database is live again');
    t.equal(await sql('db-prod', restored!, COUNTS), backup, 'the restored one kept');
    const bad = await ironclad([...inv, '--yes', 'runbook', 'run', BACK, '--set', 'host=db-prod', '--set', 'database=app', '--set', 'kept=postgres']);
    t.equal(bad.code, 2, 'only a database restore-production kept is swapped back');
  });

  await t.test('production dead (its link cut): onto a freshly provisioned replacement, the operator typing its name', async (t) => {
    const link = lab.host('db-prod').link;
    execFileSync('ip', ['link', 'set', 'dev', link, 'down']);
    let r: CliResult;
    try {
      r = await onTerminal([...inv, ...documented('ip-spare')], 'ip-spare');
    } finally {
      execFileSync('ip', ['link', 'set', 'dev', link, 'up']);
    }
    t.equal(r.code, 0, r.stdout.split('\n').slice(-10).join('\n'));
    t.match(r.stdout, /a different cluster from the one the backups were taken from \(\d+\): a replacement/);
    t.match(r.stdout, /app on db-prod cannot be read \(.*\): everything written to it after \d{4}-\d\d-\d\dT[\d:.]+Z is NOT in the restored data/, 'the time span lost, production being unreadable');
    t.match(r.stdout, /Not in the restored data: everything written after \S+ \(\d+ (s|min)/, 'said in the confirmation too');
    t.equal(await sql('ip-spare', 'app', COUNTS), backup, "app on ip-spare is the backup's data");
    const spareKept = /the damaged app is kept as (app__damaged_\d{8}T\d{4,6}Z)/.exec(r.stdout)?.[1];
    t.ok(spareKept, 'the empty app apply made is kept too (nothing dropped)');
    t.equal(await sql('ip-spare', spareKept!, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), '0');
    t.equal(await sql('ip-spare', 'postgres', "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"), 'app');
    t.equal(await sql('db-prod', 'app', 'SELECT count(*) FROM orders'), '0', 'the source was not touched');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
