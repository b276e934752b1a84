// End to end on lab hosts, the refresh's own steps from a dump made here (independent of the backup store): production's
// code never runs as a superuser, the default-deny scan refuses an application's schema until rules cover it, a
// failure leaves nothing readable, --resume after fixing the rules runs the scrub and scan again, the swap and its way back.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab } from './helpers/lab.js';
import { tempDir } from '../fixtures/tmp.js';
import { APP_SCHEMA, SCRUB, SEED } from './helpers/refresh.js';

const DIR = '/var/lib/ironclad/refresh/T1';
const STASH = '/root/ironclad-e2e-stash';

/** The staging refresh without pick and copy: the copy is a stashed dump put in place by a shell step. */
const RUNBOOK = `version: 1
name: refresh-steps
description: the refresh steps from a dump put in place
params: { refresh: staging, dir: ${DIR}, keep_failed: false }
steps:
  - { name: guard, action: refresh.guard, with: { refresh: "{{params.refresh}}" } }
  - { name: copy, host: staging, shell: "mkdir -p ${DIR} && cp ${STASH}/dump.pgdump ${DIR}/ && chown -R postgres: ${DIR} && echo ok" }
  - { name: restore, action: refresh.restore, with: { refresh: "{{params.refresh}}", dir: "{{params.dir}}" } }
  - { name: scrub, action: refresh.scrub, with: { refresh: "{{params.refresh}}", database: "{{steps.restore.database}}", scrubbed: "{{steps.restore.scrubbed}}" } }
  - { name: pii-scan, action: refresh.pii_scan, with: { refresh: "{{params.refresh}}", database: "{{steps.restore.database}}", scrubbed: "{{steps.scrub.scrubbed}}", scanned: "{{steps.restore.scanned}}" } }
  - { name: promote, action: refresh.promote, with: { refresh: "{{params.refresh}}", database: "{{steps.restore.database}}" } }
  - { name: events, action: refresh.events, with: { refresh: "{{params.refresh}}", database: "{{steps.restore.database}}" } }
  - { name: swap, action: refresh.swap, with: { refresh: "{{params.refresh}}", host: "{{steps.guard.host}}", proof: "{{steps.pii-scan.proof}}" } }
  - { name: cleanup, host: staging, shell: "rm -rf ${DIR}" }
on_failure:
  - name: discard
    when: [copy, restore, scrub, pii-scan, promote, events, swap]
    undoes: [copy, restore, scrub, pii-scan, promote, events]
    action: refresh.discard
    with: { refresh: "{{params.refresh}}", dir: "{{params.dir}}", keep: "{{params.keep_failed}}" }
`;

async function main() {
  const lab = await withLab(t);
  const sql = async (host: string, db: string, text: string) =>
    (await lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d ${db}"`, { stdin: text })).trim();
  const marker = () => sql('staging', 'app', 'SELECT note FROM staging_marker');
  const journal = (stdout: string) => /run (\S+)/.exec(stdout)?.[1];
  const dir = tempDir('ironclad-steps-');
  mkdirSync(join(dir, 'scrub'));
  writeFileSync(join(dir, 'lab.yaml'), readFileSync(LAB_INVENTORY, 'utf8'));
  const rules = (text: string) => writeFileSync(join(dir, 'scrub', 'app.yaml'), text);
  const book = join(dir, 'refresh-steps.yaml');
  writeFileSync(book, RUNBOOK);
  const inv = ['-i', join(dir, 'lab.yaml'), '--yes'];
  const leftBehind = async () => ({
    incoming: await sql('staging', 'postgres', "SELECT coalesce(string_agg(pg_get_userbyid(datdba) || ' ' || coalesce(datacl::text, 'default'), ','), 'none') FROM pg_database WHERE datname = 'app__incoming'"),
    copies: (await lab.sshOk('staging', 'ls /var/lib/ironclad/refresh/ 2>/dev/null | grep -v "\\.lock$\\|^fake\\.key$" || true')).trim(),
    login: await sql('staging', 'postgres', "SELECT coalesce(string_agg(rolcanlogin::text, ','), 'no role') FROM pg_roles WHERE rolname = 'ironclad_app'"),
  });
  const pwned = async () => (await lab.sshOk('staging', 'ls /tmp/ /var/lib/postgresql/ | grep -c PWNED || true')).trim();

  await t.test("setup: production seeded with an application's schema and code that would run a shell command as a superuser; its dump stashed on staging", async (t) => {
    rules(SCRUB);
    t.equal((await ironclad([...inv, 'apply'])).code, 0, 'apply');
    // production's database of this test (the lab may hold other tests' data): its own, owned by the application's role
    await sql('db-prod', 'postgres', 'DROP DATABASE IF EXISTS steps_src WITH (FORCE);\nCREATE DATABASE steps_src OWNER app;');
    await sql('db-prod', 'steps_src', SEED);
    await sql('db-prod', 'steps_src', APP_SCHEMA);
    const dump = await lab.sshOk('db-prod', 'cd / && su postgres -c "pg_dump -Fc -d steps_src" | base64 -w0');
    await lab.sshOk('staging', `umask 077 && mkdir -p ${STASH} && base64 -d > ${STASH}/dump.pgdump`, { stdin: dump });
    await sql('staging', 'app', "SET ROLE app; DROP TABLE IF EXISTS staging_marker; CREATE TABLE staging_marker (note text); INSERT INTO staging_marker VALUES ('the staging before');");
    await lab.sshOk('staging', 'rm -f /tmp/PWNED*');
    t.equal(await pwned(), '0');
  });

  let refusedRun = '';
  await t.test('refused (exit 3) while any column of any table in any schema holds personal data; nothing readable left behind', async (t) => {
    rules(SCRUB);
    const r = await ironclad([...inv, 'runbook', 'run', book]);
    t.equal(r.code, 3, r.stdout.split('\n').slice(-14).join('\n'));
    t.match(r.stdout, /restoring everything before the scrub step: the dump has ON UPDATE CASCADE/);
    t.match(r.stdout, /restored \d+ tables into app__incoming as ironclad_app \(not a superuser\)/);
    t.match(r.stdout, /extensions created by postgres: citext \(in public\)/);
    for (const hit of [/public\.users\.search: email \(\d+ values, e\.g\. [a-z]{2}\*+/, /crm\.Contacts\.Email: email/, /crm\.Contacts\.Tags: phone/, /crm\.Contacts\.doc: email/, /crm\.Contacts\.lower_email: email/, /crm\.contact_mails\.mail: email/])
      t.match(r.stdout, hit, `named: ${hit.source}`);
    t.match(r.stdout, /on failure: discard[\s\S]*removed the copied backup[\s\S]*dropped app__incoming/);
    t.same(await leftBehind(), { incoming: 'none', copies: '', login: 'false' }, 'no copy, no copied backup, no login');
    t.equal(await marker(), 'the staging before');
    t.equal(await pwned(), '0', "production's code never ran as a superuser");
    refusedRun = journal(r.stdout) ?? '';
  });

  await t.test('rules naming what the database lacks: every name at once, exit 2, nothing left', async (t) => {
    rules(SCRUB.replace('pii_scan: [users, orders]', 'pii_scan: [users, ordres]').replace('\nverify:', '\n  crm.contacts: truncate\nverify:'));
    const r = await ironclad([...inv, 'runbook', 'run', book]);
    t.equal(r.code, 2, r.stdout.split('\n').slice(-8).join('\n'));
    t.match(r.stdout, /tables\.crm\.contacts: no table crm\.contacts in the restored database \(did you mean crm\.Contacts\?/);
    t.match(r.stdout, /verify\.pii_scan: no table public\.ordres/);
    t.same(await leftBehind(), { incoming: 'none', copies: '', login: 'false' });
  });

  await t.test('--keep-failed: the unscrubbed copy kept for postgres only', async (t) => {
    rules(SCRUB);
    const r = await ironclad([...inv, 'runbook', 'run', book, '--set', 'keep_failed=true']);
    t.equal(r.code, 3);
    const left = await leftBehind();
    t.match(left.incoming, /^postgres \{postgres=CTc\/postgres\}$/, 'owned by postgres, no CONNECT for anyone else');
    t.same([left.copies, left.login], ['', 'false']);
    await sql('staging', 'postgres', 'DROP DATABASE app__incoming');
  });

  await t.test('the rules fixed, --resume runs the guard, the scrub and the scan again and refreshes exactly; nothing ran as a superuser', async (t) => {
    rules(SCRUB.replace('    phone: { set: null }\n', '    phone: { set: null }\n    search: { fake: text }\n').replace('\nverify:', '\n  crm.Contacts:\n    Email: { fake: email }\n    Tags: { set: "{}" }\n    doc: { set: null }\nverify:').replace('pii_scan: [users, orders]', 'pii_scan: [users, orders, crm.Contacts]'));
    const r = await ironclad([...inv, 'runbook', 'run', book, '--resume', refusedRun]);
    t.equal(r.code, 0, r.stdout.split('\n').slice(-14).join('\n'));
    t.match(r.stdout, /resumed \(1 steps already done\)\n +1\. guard\n +staging: not production/, 'the guard again');
    t.match(r.stdout, /scrubbed \d+ tables with their triggers off; 1 materialized views refreshed/);
    t.match(r.stdout, /no personal data found in \d+ columns of \d+ tables in 2 schemas/);
    t.match(r.stdout, /the old one is kept as app__previous \(ironclad refresh staging --swap-back puts it back\)/);
    t.equal(await pwned(), '0', 'no file made: nothing ran as a superuser');
    t.equal(await sql('staging', 'app', "SELECT count(*) FROM users WHERE search !~ '^redacted-[a-p]{16}$' AND email NOT IN ('dev@example.com', 'qa@example.com')"), '0', 'the column the trigger keeps, scrubbed by its rule');
    t.equal(await sql('staging', 'app', "SELECT tgenabled FROM pg_trigger WHERE tgname = 'users_search'"), 'O', "production's trigger enabled again after the scrub");
    t.equal(await sql('staging', 'app', 'SELECT count(*) FROM crm.nick n LEFT JOIN users u USING (email) WHERE u.id IS NULL'), '0', 'the key cascading updates followed the scrub');
    t.equal(await sql('staging', 'app', `SELECT count(*) FROM crm."Contacts" WHERE lower_email <> lower("Email"::text) OR "Email"::text NOT LIKE '%@example.invalid'`), '0', 'the generated column follows its scrubbed input');
    t.equal(await sql('staging', 'app', "SELECT count(*) FROM crm.contact_mails WHERE mail NOT LIKE '%@example.invalid'"), '0', 'the materialized view shows the scrubbed rows');
    t.equal(await sql('staging', 'app', "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class WHERE relnamespace IN ('public'::regnamespace, 'crm'::regnamespace)"), 'app', 'everything handed to the owner role');
    t.equal(await sql('staging', 'postgres', "SELECT pg_get_userbyid(datdba) || ' ' || datallowconn FROM pg_database WHERE datname = 'app'"), 'app true');
    for (const q of ['SELECT count(*) FROM users', 'SELECT count(*) FROM crm."Contacts"', 'SELECT last_value FROM users_id_seq', 'SELECT count(*) FROM crm.nick', 'SELECT count(*) FROM events'])
      t.equal(await sql('staging', 'app', q), await sql('db-prod', 'steps_src', q), q);
    t.same(await leftBehind(), { incoming: 'none', copies: '', login: 'false' });
    const schema = async (host: string, db: string) => (await lab.sshOk(host, `cd / && su postgres -c "pg_dump --schema-only --no-owner --no-acl -d ${db}"`)).replace(/^-- (Dumped|Started|Completed).*$|^\\(un)?restrict .*$/gm, ''); // (\\restrict: a random key per dump)
    t.equal(await schema('staging', 'app'), await schema('db-prod', 'steps_src'), "pg_dump --schema-only: the same schema as production's (owners and grants aside)");
  });

  await t.test('fakes are keyed by a secret kept on the staging host: not an md5 of the original', async (t) => {
    t.equal((await lab.sshOk('staging', 'stat -c %a /var/lib/ironclad/refresh/fake.key')).trim(), '600');
    const prod = (await sql('db-prod', 'steps_src', "SELECT 'user-' || substr(md5(email), 1, 12) || '@example.invalid', 'user-' || substr(md5(email), 1, 16) || '@example.invalid' FROM users")).split(/\s+/);
    const fakes = new Set((await sql('staging', 'app', 'SELECT email FROM users')).split('\n'));
    t.equal(prod.filter((p) => fakes.has(p)).length, 0, 'a list of candidate emails finds no one');
    t.equal(await sql('staging', 'app', "SELECT count(DISTINCT email) = count(*) FROM users"), 't', 'still one fake per original (keys hold)');
    // and exactly SHA-256 of the key's block and the value (one per value, the block folded into the plan): the fakes
    // of each row as node's crypto computes them (the kept accounts aside)
    const key = Buffer.from((await lab.sshOk('staging', 'cat /var/lib/ironclad/refresh/fake.key')).trim(), 'hex');
    const block = Buffer.alloc(64);
    key.copy(block);
    const keyed = (label: string, v: string) => createHash('sha256').update(block.map((x) => x ^ 0x36)).update(`${label}:${v}`).digest();
    const [first, last] = [['Alex', 'Sam', 'Robin', 'Kim', 'Jo', 'Max', 'Noor', 'Ari'], ['Example', 'Sample', 'Tester', 'Placeholder', 'Doe', 'Roe', 'Fictus', 'Nemo']];
    const rows = async (host: string, db: string, q: string) => (await sql(host, db, q)).split('\n').map((l) => l.split('|'));
    const users = await rows('db-prod', 'steps_src', 'SELECT id, email, full_name FROM users ORDER BY id');
    const expected = users.map(([id, email, name]) => {
      const e = keyed('email', email);
      const n = keyed('name', name)[0];
      return [id, ['dev@example.com', 'qa@example.com'].includes(email) ? email : `user-${e.toString('hex').slice(0, 16)}@example.invalid`, `${first[(n >> 3) & 7]} ${last[n & 7]}`].join('|');
    });
    t.ok(users.length > 100);
    t.same((await rows('staging', 'app', 'SELECT id, email, full_name FROM users ORDER BY id')).map((r) => r.join('|')), expected, 'emails and names: the keyed SHA-256 of the original');
    const orders = await rows('db-prod', 'steps_src', 'SELECT id, shipping_address FROM orders WHERE shipping_address IS NOT NULL ORDER BY id LIMIT 200');
    const address = (v: string) => { const h = keyed('address', v); return `${1 + ((h[0] * 256 + h[1]) % 999)} Example Street, Testville`; };
    t.same(await rows('staging', 'app', `SELECT id, shipping_address FROM orders WHERE id IN (${orders.map(([id]) => Number(id)).join(', ')}) ORDER BY id`), orders.map(([id, a]) => [id, address(a)]), 'addresses too');
  });

  await t.test('swap back: the previous database in place again, both accepting connections', async (t) => {
    const r = await ironclad([...inv, 'refresh', 'staging', '--swap-back']);
    t.equal(r.code, 0, r.stdout);
    t.equal(await marker(), 'the staging before');
    t.equal(await sql('staging', 'postgres', "SELECT string_agg(datname || ' ' || datallowconn, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'"), 'app true,app__previous true');
    await lab.sshOk('staging', `rm -rf ${STASH}`);
    await sql('db-prod', 'postgres', 'DROP DATABASE steps_src WITH (FORCE);');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
