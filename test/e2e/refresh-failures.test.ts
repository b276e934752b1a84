// End to end on lab hosts: a failure at each step of the staging refresh leaves the live staging database serving and
// nothing readable behind; --keep-failed keeps the copy for postgres only; a production target is refused (exit 3) by
// its tag, its marker or its cluster; the PII scan's server-side filter agrees with scanValue.
import t from 'tap';
import { ironclad } from './helpers/cli.js';
import { labAddress, labUnavailable } from './helpers/lab.js';
import { SCRUB, refreshLab, variant } from './helpers/refresh.js';
import { candidateCondition, scanValue } from '../../src/refresh/pii.js';

async function main() {
  const { lab, inv, sql, marker, leftBehind } = await refreshLab(t);

  await t.test("the PII scan's server-side filter, run by PostgreSQL, leaves out only values scanValue finds nothing in", async (t) => {
    const allowed = ['example.com', 'qa.example.org', 'localhost', 'not a domain'];
    const harmless = ['anna.smith1@example.com', 'X.Y+z@Mail.Example.COM', 'dev@qa.example.org', 'dev@box.localhost', 'a-b_c%d@x-1.example.com', '555-0142', '+1 (555) 0100', '1-555-0199', 'Max Doe', 'user', '$2b$12$stagingstagingO', 'a3f51234567b9c', '$2b$12$4411234567890abcdefghijklmno', 'redacted-hgjfkgjklhabcdef', 'token_12345678'];
    const others = [
      'anna@gmail.com', 'anna@badexample.com', 'a@example.com b@gmail.com', 'a@example.com +44 20 7946 0000', 'a!b@gmail.com', 'call +44 20 7946 0000',
      'a@example.org', 'dev@qa.example.org.evil.net', '555-0142 and 4111 1111 1111 1111', '+44 555 0100', '4111111111111111@localhost', 'a@localhost',
      'a@.example.com', 'a@x..example.com', 'a..b@example.com', '@example.com', 'a@b@example.com', 'a@4111111111111111_x.example.com', 'a@example.com.', 'a @example.com', 'ä@example.com', 'a@example.com 4111 1111 1111 1111', 'tel:+44 20 7946 0123.', '{vip,"call +1 415 867 0001"}', '1234567', '1 234-56',
    ];
    // ('a..b@example.com' holds no hit, but two dots anywhere make a value a candidate: stricter, never looser)
    const values = [...harmless, ...others];
    const rows = await sql('staging', 'postgres', `SELECT i, coalesce(${candidateCondition('v', allowed)}::text, 'null') FROM (VALUES ${values.map((v, i) => `(${i}, '${v.replace(/'/g, "''")}')`).join(', ')}) AS t(i, v) ORDER BY i`);
    const candidate = new Map(rows.split('\n').map((l) => l.split('|') as [string, string]));
    t.same(values.filter((_, i) => candidate.get(String(i)) === 'false'), harmless, 'exactly these are left out');
    for (const v of harmless) t.same(scanValue(v, allowed), [], `left out, and scanValue finds nothing in it: ${v}`);
    t.equal(await sql('staging', 'postgres', `SELECT coalesce(${candidateCondition('NULL::text', allowed)}::text, 'null')`), 'null', 'NULL is not a candidate');
  });

  const failures: [string, string, string[], number, RegExp][] = [
    ['a scrub rule on a missing column', variant('scrubcol', (s) => s, SCRUB.replace('full_name: { fake: name }', 'full_name: { fake: name }\n    nickname: { fake: name }')), [], 2, /tables\.users\.nickname: public\.users has no column nickname/],
    ['a pii_scan entry naming no table', variant('scanname', (s) => s, SCRUB.replace('pii_scan: [users, orders]', 'pii_scan: [users, ordres]')), [], 2, /verify\.pii_scan: no table public\.ordres/],
    ['the PII scan finding data', variant('pii', (s) => s, SCRUB.replace(/ {4}phone: \{ set: null \}\n/, '')), [], 3, /public\.users\.phone: phone \(\d+ values, e\.g\. \+\d\*+\d\d\)/],
  ];
  for (const [what, file, extra, code, message] of failures)
    await t.test(`failure: ${what} leaves the live staging database serving, and nothing readable behind`, async (t) => {
      const r = await ironclad(['-i', file, '--yes', 'refresh', 'staging', ...extra]);
      t.equal(r.code, code, r.stdout.split('\n').slice(-4).join('\n'));
      t.match(r.stdout, message);
      t.match(r.stdout, /on failure: discard[\s\S]*dropped app__incoming/);
      t.equal(await marker(), 'the staging before');
      t.same(await leftBehind(), { incoming: 'none', copies: '', login: 'false' }, 'no copy, no copied backup, no login');
    });

  await t.test('--keep-failed keeps the unscrubbed copy for postgres only', async (t) => {
    const r = await ironclad(['-i', variant('kept', (s) => s, SCRUB.replace(/ {4}phone: \{ set: null \}\n/, '')), '--yes', 'refresh', 'staging', '--keep-failed']);
    t.equal(r.code, 3);
    const left = await leftBehind();
    t.match(left.incoming, /^postgres \{postgres=CTc\/postgres\}$/, 'owned by postgres; no CONNECT for anyone else');
    t.same([left.copies, left.login], ['', 'false']);
    await sql('staging', 'postgres', 'DROP DATABASE app__incoming');
  });

  await t.test('failure: a corrupt backup leaves the live staging database serving', async (t) => {
    const [b] = JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups;
    // (the dump as the store keeps it: dump.pgdump, or its encrypted form)
    const f = (await lab.sshOk('backup-far', `find "$(find /srv/ironclad/backups -type d -name '${b.id}' | head -1)" -type f -printf '%s %p\\n' | sort -n | tail -1 | cut -d' ' -f2-`)).trim();
    t.match(f, new RegExp(`/${b.id}/`), `the backup's biggest file (its dump): ${f}`);
    await lab.sshOk('backup-far', `cp ${f} /tmp/good.dump && chmod u+w ${f} && printf 'XXXX' | dd of=${f} bs=1 seek=300 conv=notrunc 2>/dev/null`);
    const r = await ironclad([...inv, '--yes', 'refresh', 'staging']);
    await lab.sshOk('backup-far', `cat /tmp/good.dump > ${f} && chmod a-w ${f}`);
    t.equal(r.code, 1);
    t.match(r.stdout, /step 'copy' FAILED.*\n?.*(checksum|FAILED)/);
    t.equal(await marker(), 'the staging before');
  });

  await t.test('refused with exit 3: a production-tagged target, and a staging address that is a production machine', async (t) => {
    const tagged = variant('tagged', (s) => s.replace('tags: [staging]', 'tags: [staging, production]'));
    const r1 = await ironclad(['-i', tagged, '--yes', 'refresh', 'staging']);
    t.equal(r1.code, 3);
    t.match(r1.stderr, /tagged production/);
    // the inventory's staging address points at a production machine by mistake: the host's own marker refuses it
    const app = lab.host('app-prod').address;
    const stagingAddress = lab.host('staging').address;
    const moved = variant('moved', (s) => s.replace(`address: ${app}`, `address: ${labAddress(lab.plan, 99)}`).replace(`address: ${stagingAddress}`, `address: ${app}`));
    const r2 = await ironclad(['-i', moved, '--yes', 'refresh', 'staging']);
    t.equal(r2.code, 3, r2.stdout + r2.stderr);
    t.match(r2.stdout, /carries the production marker/);
    t.equal(await marker(), 'the staging before');
    // an untagged production without its marker behind the staging address: refused by what its cluster is
    const prod = lab.host('db-prod').address;
    const same = variant('same', (s) => s.replace(`address: ${prod}`, `address: ${labAddress(lab.plan, 98)}`).replace(`address: ${stagingAddress}`, `address: ${prod}`));
    await lab.sshOk('db-prod', 'mv /var/lib/ironclad/production /var/lib/ironclad/production.away');
    try {
      const r3 = await ironclad(['-i', same, '--yes', 'refresh', 'staging']);
      t.equal(r3.code, 3, r3.stdout + r3.stderr);
      t.match(r3.stdout, /runs the very cluster db-prod's backups come from \(system identifier \d+, backup /);
    } finally {
      await lab.sshOk('db-prod', 'mv /var/lib/ironclad/production.away /var/lib/ironclad/production');
    }
    t.equal(await sql('db-prod', 'postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'app\\_\\_%'"), '0', 'nothing made on production');
  });

}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
