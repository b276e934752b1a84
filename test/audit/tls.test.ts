import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { isRoutineRenewal, judgeTls } from '../../src/audit/tls.js';
import type { TlsFact } from '../../src/facts/tls.js';
import type { Host } from '../../src/inventory/types.js';
import { certInfo, loadCert } from '../../src/core/x509.js';
import { issueCert } from '../../src/tls/issue.js';
import { tlsSource } from '../../src/tls/source.js';
import { tempDir } from '../fixtures/tmp.js';

const host: Host = { name: 'db', address: '10.0.0.5', tags: [], ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' }, postgres: { version: 15, cluster: 'main', port: 5432, tls: { enabled: true, names: [] } } };

t.test('green, yellow 30 days before the end, red when expired, foreign or missing', async (t) => {
  const src = await tlsSource({ dir: tempDir('ironclad-at-'), tls: undefined }, 'issue', [host]);
  const other = await tlsSource({ dir: tempDir('ironclad-at-'), tls: undefined }, 'issue', [host]);
  const fact = async (days: number, ca = src.ca!): Promise<TlsFact> => {
    const i = await issueCert({ ca, cn: 'db', names: { dns: ['db'], ip: ['10.0.0.5'] }, days });
    const pub = execFileSync('openssl', ['pkey', '-pubout'], { input: i.keyPem }).toString();
    return { cert: i.certPem, info: certInfo(loadCert(i.certPem)!), key: { state: 'file', owner: 'postgres', group: 'postgres', mode: '600' }, key_public: pub };
  };
  const now = new Date();
  const year = await fact(365);
  t.match(judgeTls(host, year, src, now), [{ area: 'tls', subject: 'certificate', level: 'ok', message: /^CN=db, DNS:db, IP:10\.0\.0\.5, valid until .*, signed by the estate's CA in / }]);
  t.match(judgeTls(host, await fact(10), src, now), [{ level: 'warning', message: /^expires in (9|10) days/ }]);
  t.match(judgeTls(host, year, src, new Date(Date.now() + 340 * 86400_000)), [{ level: 'warning', message: /expires in 2[45] days/ }], 'the audit warns 30 days ahead');
  t.match(judgeTls(host, year, src, new Date(Date.now() + 366 * 86400_000)), [{ level: 'failure', message: /^EXPIRED on / }]);
  t.match(judgeTls(host, await fact(365, other.ca!), src, now), [{ level: 'failure', message: /NOT SIGNED BY THE ESTATE'S CA/ }]);
  t.match(judgeTls(host, { cert: null, info: null, key: { state: 'absent' }, key_public: null }, src, now), [{ level: 'failure', message: /no certificate at/, details: [/run: ironclad apply/] }]);
  t.match(judgeTls(host, { ...year, key: { state: 'file', owner: 'postgres', group: 'postgres', mode: '644' } }, src, now), [{ level: 'failure', message: /mode 644; it must be postgres's, 0600/ }]);
  t.match(judgeTls({ ...host, postgres: { ...host.postgres!, tls: { enabled: false, names: [] } } }, year, src, now), [{ level: 'ok', message: /TLS is off for this cluster by the inventory/ }]);
  t.same(judgeTls({ ...host, postgres: undefined }, year, src, now), []);
  t.equal(join('a', 'b'), 'a/b');
});

t.test('a renewal near the end, with the reload that loads it, is routine; anything beside it is drift', async (t) => {
  const renew = { operation: 'tls-renew', description: 'renew the server certificate ...' };
  const reload = { operation: 'service', description: 'reload 15/main' };
  t.ok(isRoutineRenewal([renew]));
  t.ok(isRoutineRenewal([renew, reload]));
  t.notOk(isRoutineRenewal([reload]), 'a reload alone is not a renewal');
  t.notOk(isRoutineRenewal([renew, { operation: 'settings', description: 'write conf' }, reload]));
  t.notOk(isRoutineRenewal([renew, { operation: 'service', description: 'restart 15/main: x', restart: true }]));
  t.notOk(isRoutineRenewal([{ operation: 'tls', description: 'issue the server certificate ...' }, reload]), 'a certificate for other names is drift');
  t.notOk(isRoutineRenewal([]));
});
