import { createHmac } from 'node:crypto';
import t from 'tap';
import { keyBlock, fakeKeyScript, keyStatements } from '../../src/refresh/fakekey.js';
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

t.test('the fakes are keyed: one SHA-256 of the host key\'s block and the value, the block given to one transaction only', async (t) => {
  const key = '0f'.repeat(32);
  const block = keyBlock(key);
  t.equal(block, '39'.repeat(32) + '36'.repeat(32), 'the key zero-padded to 64 bytes, XOR 0x36');
  // what keyedHashSql computes in SQL: SHA-256(block || label:value); not the HMAC, not a hash without the key
  const { createHash } = await import('node:crypto');
  const mine = createHash('sha256').update(Buffer.from(block, 'hex')).update('email:a@b.c').digest('hex');
  t.not(mine, createHmac('sha256', Buffer.from(key, 'hex')).update('email:a@b.c').digest('hex'));
  t.not(mine, createHash('sha256').update('email:a@b.c').digest('hex'));
  t.not(mine, createHash('sha256').update(Buffer.from(keyBlock('1f'.repeat(32)), 'hex')).update('email:a@b.c').digest('hex'), 'another key, another fake');
  const statements = keyStatements(key);
  t.same(statements.slice(0, 1).map((s) => s.replace(/'[0-9a-f]+'/, "'…'")), ["SET LOCAL ironclad.fake_k = '…';"]);
  t.match(statements[0], new RegExp(`'${block}'`));
  // the block read once per statement (an IMMUTABLE function of a constant is computed while planning), from pg_catalog's
  // functions only, and never written into it
  t.match(statements[1], /^CREATE OR REPLACE FUNCTION pg_temp\.ironclad_fake_pad\(text\) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS \$ironclad\$ SELECT pg_catalog\.decode\(pg_catalog\.current_setting\(\$1\), 'hex'\) \$ironclad\$;$/);
  t.equal(statements.length, 2);
  t.notMatch(statements.slice(1).join('\n'), new RegExp(`${block.slice(0, 16)}|${key.slice(0, 16)}`), 'the key only in the SET LOCAL statement');
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
