// The estate's CA and issuing, with the real openssl on this machine.
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { mask } from '../../src/core/secrets.js';
import type { EstateTls } from '../../src/inventory/types.js';
import { ensureCa, loadCa } from '../../src/tls/ca.js';
import { signedBy } from '../../src/core/x509.js';
import { extensions, issueCert } from '../../src/tls/issue.js';
import { tempDir } from '../fixtures/tmp.js';

const managed = (dir: string): EstateTls => ({ ca: { kind: 'managed', dir }, days: 365, renew_before_days: 30 });

t.test('the CA is made once: key 0600 in a 0700 folder that ignores itself; a second call loads it', async (t) => {
  const base = tempDir('ironclad-ca-');
  const estate = managed(join(base, '.ironclad', 'ca'));
  t.equal(loadCa(estate), null, 'absent: plan and audit make nothing');
  t.same(readdirSync(base), [], 'loading wrote nothing');
  const ca = await ensureCa(estate);
  t.ok(ca.cert.ca, 'a CA certificate');
  t.equal(statSync(ca.keyFile).mode & 0o777, 0o600);
  t.equal(statSync(join(base, '.ironclad', 'ca')).mode & 0o777, 0o700);
  t.equal(readFileSync(join(base, '.ironclad', 'ca', '.gitignore'), 'utf8'), '*\n');
  t.same(readdirSync(join(base, '.ironclad')), ['ca'], 'no temporary folder left');
  const again = await ensureCa(estate);
  t.equal(again.cert.fingerprint256, ca.cert.fingerprint256, 'the same CA the second time');
  t.ok(Date.parse(ca.cert.validTo) - Date.now() > 9 * 365 * 86400_000, 'valid about ten years');
});

t.test('a certificate for exactly the names, signed by the CA, its key a secret', async (t) => {
  const ca = await ensureCa(managed(join(tempDir('ironclad-ca-'), 'ca')));
  const issued = await issueCert({ ca, cn: 'db-prod', names: { dns: ['db-prod'], ip: ['10.0.0.5', '127.0.0.1'] }, days: 10 });
  const cert = new X509Certificate(issued.certPem);
  t.ok(signedBy(cert, ca.cert), 'signed by the estate CA');
  t.equal(cert.subject, 'CN=db-prod');
  t.equal(cert.subjectAltName, 'DNS:db-prod, IP Address:10.0.0.5, IP Address:127.0.0.1');
  t.equal(cert.checkHost('db-prod'), 'db-prod');
  t.equal(cert.checkIP('10.0.0.5'), '10.0.0.5');
  t.notOk(cert.ca, 'not a CA');
  const left = Date.parse(cert.validTo) - Date.now();
  t.ok(left > 9.9 * 86400_000 && left <= 10 * 86400_000 + 60_000, '10 days');
  t.same(issued.info.names, { dns: ['db-prod'], ip: ['10.0.0.5', '127.0.0.1'] });
  t.match(issued.keyPem, /BEGIN PRIVATE KEY/);
  t.notMatch(mask(`oops ${issued.keyPem.trim()}`), /PRIVATE KEY/, 'the key is masked in any output');
  const other = await issueCert({ ca, cn: 'db-prod', names: { dns: ['db-prod'], ip: [] }, days: 10 });
  t.not(other.info.serial, issued.info.serial, 'random serials');
});

t.test('nothing but DNS names and IPs reach openssl config', async (t) => {
  t.throws(() => extensions({ dns: ['a,DNS:evil.com'], ip: [] }), /refusing/);
  t.throws(() => extensions({ dns: ['a\n[v3]\nbasicConstraints = CA:TRUE'], ip: [] }), /refusing/);
  t.throws(() => extensions({ dns: [], ip: ['1.2.3.4,DNS:x'] }), /refusing/);
  t.throws(() => extensions({ dns: [], ip: [] }), /at least one name/);
  t.match(extensions({ dns: ['a'], ip: ['::1'] }), /subjectAltName = DNS:a, IP:::1\n/);
});

t.test('a provided CA: a key others can read, a wrong key, a missing file are refused with the field named', async (t) => {
  const a = await ensureCa(managed(join(tempDir('ironclad-ca-'), 'ca')));
  const b = await ensureCa(managed(join(tempDir('ironclad-ca-'), 'ca')));
  const dir = tempDir('ironclad-ca-given-');
  copyFileSync(a.certFile, join(dir, 'ca.crt'));
  copyFileSync(a.keyFile, join(dir, 'ca.key'));
  copyFileSync(b.keyFile, join(dir, 'other.key'));
  const given = (cert: string, key: string): EstateTls => ({ ca: { kind: 'provided', cert: join(dir, cert), key: join(dir, key) }, days: 365, renew_before_days: 30 });
  t.equal(loadCa(given('ca.crt', 'ca.key'))!.cert.fingerprint256, a.cert.fingerprint256);
  t.throws(() => loadCa(given('ca.crt', 'other.key')), { message: `tls.ca: ${join(dir, 'other.key')} is not the key of ${join(dir, 'ca.crt')}` });
  t.throws(() => loadCa(given('missing.crt', 'ca.key')), /tls\.ca: the CA certificate .*missing\.crt cannot be read \(ENOENT\)/);
  chmodSync(join(dir, 'ca.key'), 0o644);
  t.throws(() => loadCa(given('ca.crt', 'ca.key')), /can be read by others \(mode 644\)/);
  const host = await issueCert({ ca: a, cn: 'x', names: { dns: ['x'], ip: [] }, days: 3 });
  copyFileSync(a.keyFile, join(dir, 'leaf.key'));
  writeFileSync(join(dir, 'leaf.crt'), host.certPem);
  t.throws(() => loadCa(given('leaf.crt', 'leaf.key')), /is not a CA certificate/);
});

t.test('apply makes the CA only when a selected host has TLS; plan never', async (t) => {
  const { tlsSource } = await import('../../src/tls/source.js');
  const base = tempDir('ironclad-src-');
  const noTls = { postgres: { version: 15, cluster: 'main', port: 5432, tls: { enabled: false, names: [] } } };
  const withTls = { postgres: { version: 15, cluster: 'main', port: 5432, tls: { enabled: true, names: [] } } };
  t.equal((await tlsSource({ dir: base }, 'issue', [noTls, {}])).ca, null, 'no host needs it: no CA');
  t.equal((await tlsSource({ dir: base }, 'preview', [withTls])).ca, null, 'a preview makes none');
  t.same(readdirSync(base), []);
  const made = await tlsSource({ dir: base }, 'issue', [noTls, withTls]);
  t.equal(made.ca?.certFile, join(base, '.ironclad', 'ca', 'ca.crt'), 'the default place: .ironclad/ca beside the inventory');
  t.equal((await tlsSource({ dir: base }, 'preview')).ca?.cert.fingerprint256, made.ca?.cert.fingerprint256, 'plan and audit read it afterwards');
});
