import { createHmac } from 'node:crypto';
import t from 'tap';
import { hmacPads, fakeKeyScript, keyStatements } from '../../src/refresh/fakekey.js';
import { asLogin } from '../../src/connectors/sql.js';
import { createIncomingSql, incomingMark, loginAddress, refreshRole } from '../../src/refresh/login.js';
import { tableKey, tableLabel, tableName, tableSql } from '../../src/refresh/names.js';
import type { Host } from '../../src/inventory/types.js';

t.test('the refresh role logs in over TCP with the password on stdin, never on a command line', async (t) => {
  const login = { role: 'ironclad_app', password: 's3cret', address: '127.0.0.1', port: 5433 };
  const cmd = asLogin(login, "psql -X -d 'app__incoming'");
  t.notMatch(cmd, /s3cret/);
  t.match(cmd, /^cd \/ && IFS= read -r PGPASSWORD && export PGPASSWORD PGSSLMODE=disable PGCONNECT_TIMEOUT=20 && exec psql -X -d 'app__incoming' -h 127\.0\.0\.1 -p 5433 -U ironclad_app$/);
  t.equal(refreshRole('app'), 'ironclad_app');
  t.equal(refreshRole('x'.repeat(53)).length, 62);
  const host = (listen?: string[]) => ({ postgres: { listen } }) as unknown as Host;
  t.equal(loginAddress(host()), '127.0.0.1');
  t.equal(loginAddress(host(['10.0.0.5', '127.0.0.1'])), '127.0.0.1');
  t.equal(loginAddress(host(['10.0.0.5'])), '10.0.0.5');
});

t.test('the incoming database is the refresh role\'s, closed to PUBLIC, marked with its run', async (t) => {
  t.equal(createIncomingSql('app__incoming', 'ironclad_app', 'R1'), `CREATE DATABASE "app__incoming" OWNER "ironclad_app";\nREVOKE ALL ON DATABASE "app__incoming" FROM PUBLIC;\nCOMMENT ON DATABASE "app__incoming" IS 'ironclad incoming, created by run R1';`);
  t.not(incomingMark('R1'), incomingMark('R2'));
});

t.test('the fakes are keyed: HMAC-SHA256 pads of the host key, given to one transaction only', async (t) => {
  const key = '0f'.repeat(32);
  const { inner, outer } = hmacPads(key);
  t.equal(inner.length, 128);
  // HMAC(k, m) = H(outer || H(inner || m)), as hmacSql computes it in SQL
  const { createHash } = await import('node:crypto');
  const h = (b: Buffer) => createHash('sha256').update(b).digest();
  const mine = h(Buffer.concat([Buffer.from(outer, 'hex'), h(Buffer.concat([Buffer.from(inner, 'hex'), Buffer.from('email:a@b.c')]))]));
  t.equal(mine.toString('hex'), createHmac('sha256', Buffer.from(key, 'hex')).update('email:a@b.c').digest('hex'));
  const statements = keyStatements(key);
  t.same(statements.slice(0, 2).map((s) => s.replace(/'[0-9a-f]+'/, "'…'")), ["SET LOCAL ironclad.fake_i = '…';", "SET LOCAL ironclad.fake_o = '…';"]);
  // the pads read once per statement (an IMMUTABLE function of a constant is computed while planning), from pg_catalog's
  // functions only, and never written into it
  t.match(statements[2], /^CREATE OR REPLACE FUNCTION pg_temp\.ironclad_fake_pad\(text\) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS \$ironclad\$ SELECT pg_catalog\.decode\(pg_catalog\.current_setting\(\$1\), 'hex'\) \$ironclad\$;$/);
  t.notMatch(statements.slice(2).join('\n'), new RegExp(`${inner.slice(0, 16)}|${outer.slice(0, 16)}|${key.slice(0, 16)}`), 'the pads only in the SET LOCAL statements');
  t.match(fakeKeyScript('/var/lib/ironclad/refresh/fake.key'), /^umask 077 && mkdir -p \/var\/lib\/ironclad\/refresh && \{ \[ -s \/var\/lib\/ironclad\/refresh\/fake\.key \] \|\| \{ head -c 32 \/dev\/urandom/);
});

t.test('table names: schema.table as PostgreSQL spells it; a bare name is in public', async (t) => {
  t.same(tableName('crm.Contacts'), { schema: 'crm', table: 'Contacts' });
  t.same(tableName('users'), { schema: 'public', table: 'users' });
  t.equal(tableKey('users'), 'public.users');
  t.equal(tableSql('crm.Con"tacts'), '"crm"."Con""tacts"');
  t.equal(tableLabel('public.users'), 'users');
  t.equal(tableLabel('crm.Contacts'), 'crm.Contacts');
});
