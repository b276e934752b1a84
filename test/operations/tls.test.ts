// The certificate change: what the plan shows (never a PEM, never the key), what apply runs, and the ssl settings.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { describeCommand, toShell } from '../../src/core/command.js';
import type { PostgresSpec } from '../../src/inventory/types.js';
import { renderConf } from '../../src/operations/files.js';
import { tlsChange, tlsSettings } from '../../src/operations/tls.js';
import { renderPlan } from '../../src/report/plan.js';
import { ensureCa } from '../../src/tls/ca.js';
import { certInfo, loadCert } from '../../src/core/x509.js';
import { tlsForHost, tlsSource } from '../../src/tls/source.js';
import type { Host } from '../../src/inventory/types.js';
import { tempDir } from '../fixtures/tmp.js';

const pg: PostgresSpec = { version: 15, cluster: 'main', port: 5432, listen: ['127.0.0.1', '10.0.0.5'], tls: { enabled: true, names: [] } };
const host: Host = { name: 'db', address: '10.0.0.5', tags: [], ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' }, postgres: pg };
const absent = { cert: null, info: null, key: { state: 'absent' as const }, key_public: null };

t.test('ssl settings in conf.d when TLS is on; the inventory\'s own settings win; none when off', async (t) => {
  t.match(renderConf(pg), /^ssl = on\nssl_cert_file = '\/etc\/ironclad\/tls\/server\.crt'\nssl_key_file = '\/etc\/ironclad\/tls\/server\.key'$/m);
  t.match(renderConf({ ...pg, settings: { ssl: false } }), /^ssl = off$/m);
  t.same(tlsSettings({ ...pg, tls: { enabled: false, names: [] } }), {});
  t.notMatch(renderConf({ ...pg, tls: undefined }), /ssl/);
});

t.test('plan (preview): the certificate to be issued, described, no commands, nothing made', async (t) => {
  const inv = { dir: tempDir('ironclad-op-'), tls: undefined };
  const src = await tlsSource(inv, 'preview', [host]);
  t.equal(src.ca, null, 'no CA made by a preview');
  const input = await tlsForHost(src, host, absent);
  const c = tlsChange(pg, input)!;
  t.equal(c.operation, 'tls');
  t.match(c.description, /^issue the server certificate from the estate's CA in .*\.ironclad\/ca: CN=db, DNS:db, IP:10\.0\.0\.5, IP:127\.0\.0\.1, valid 365 days \(no certificate at \/etc\/ironclad\/tls\/server\.crt/);
  t.same(c.commands, []);
  t.match(c.diff, /\+ issuer: the estate's CA in .* \(apply creates it\)/);
  t.throws(() => tlsChange(pg, undefined), /no TLS input/);
  t.equal(tlsChange({ ...pg, tls: { enabled: false, names: [] } }, undefined), undefined);
});

t.test('apply (issue): the CA made once, a certificate issued; the key goes only into an upload\'s stdin, masked everywhere', async (t) => {
  const dir = tempDir('ironclad-op-');
  const src = await tlsSource({ dir, tls: undefined }, 'issue', [host]);
  t.ok(src.ca, 'apply made the CA');
  const input = (await tlsForHost(src, host, absent))!;
  const c = tlsChange(pg, input)!;
  const key = input.issued!.keyPem;
  t.same(c.commands.map((x) => x.kind), ['sh', 'upload', 'upload', 'upload', 'sh']);
  const upload = c.commands[1]!;
  t.match(upload, { kind: 'upload', path: '/etc/ironclad/tls/server.key.new', mode: '600', owner: 'postgres:postgres' });
  t.equal(toShell(upload).stdin, key, 'the key travels on stdin');
  t.notMatch(toShell(upload).script, /PRIVATE/, 'never in the script');
  const shown = [c.description, c.diff, ...c.commands.map(describeCommand), renderPlan([{ host: 'db', ok: true, value: { host: 'db', changes: [c], deferred: [], refusals: [] } }])].join('\n');
  t.notMatch(shown, /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key and no PEM in what is shown');
  t.match(c.diff, /\+ subject: CN=db\n\+ names: DNS:db, IP:10\.0\.0\.5, IP:127\.0\.0\.1\n\+ valid until: \d{4}-/);
  t.match(toShell(c.commands[4]!).script, /^sync .*server\.key\.new .* && mv -f \/etc\/ironclad\/tls\/server\.key\.new \/etc\/ironclad\/tls\/server\.key && mv -f .*server\.crt\.new \/etc\/ironclad\/tls\/server\.crt && sync \/etc\/ironclad\/tls$/);

  // the host now has it: nothing to do; ten days left: routine renewal; names changed: issue anew
  const pub = execFileSync('openssl', ['pkey', '-pubout'], { input: key }).toString();
  const has = { cert: input.issued!.certPem, info: certInfo(loadCert(input.issued!.certPem)!), key: { state: 'file' as const, owner: 'postgres', group: 'postgres', mode: '600' }, key_public: pub };
  t.equal(tlsChange(pg, await tlsForHost(src, host, has)), undefined, 'a second apply changes nothing');
  const late = await tlsForHost(src, host, has, new Date(Date.now() + 350 * 86400_000));
  const renew = tlsChange(pg, late)!;
  t.equal(renew.operation, 'tls-renew');
  t.match(renew.description, /^renew the server certificate .*\(expires in 1[45] days/);
  const moved = { ...host, postgres: { ...pg, listen: ['10.0.0.6'] } };
  const reissue = tlsChange(moved.postgres, await tlsForHost(src, moved, has))!;
  t.match(reissue.description, /names differ from the inventory's: missing IP:10\.0\.0\.6 extra IP:127\.0\.0\.1/);
  t.match(reissue.diff, /- names: DNS:db, IP:10\.0\.0\.5, IP:127\.0\.0\.1\n[\s\S]*\+ names: DNS:db, IP:10\.0\.0\.5, IP:10\.0\.0\.6\n/);
  const perms = tlsChange(pg, await tlsForHost(src, host, { ...has, key: { state: 'file', owner: 'root', group: 'root', mode: '644' } }))!;
  t.same([perms.operation, perms.commands.length], ['tls', 1]);
  t.match(toShell(perms.commands[0]!).script, /^chown postgres:postgres \/etc\/ironclad\/tls\/server\.key && chmod 600/);
  t.equal(join(dir, '.ironclad', 'ca', 'ca.crt'), src.ca!.certFile);
});
