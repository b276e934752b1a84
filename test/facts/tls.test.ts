import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { parseTls, TLS_COMMAND, tlsFact, tlsRows } from '../../src/facts/tls.js';
import { ensureCa } from '../../src/tls/ca.js';
import { issueCert } from '../../src/tls/issue.js';
import { tempDir } from '../fixtures/tmp.js';

const part = (name: string, text: string) => ({ name, text });

t.test('a certificate, its key file and the key\'s public half', async (t) => {
  const ca = await ensureCa({ ca: { kind: 'managed', dir: join(tempDir('ironclad-ft-'), 'ca') }, days: 365, renew_before_days: 30 });
  const issued = await issueCert({ ca, cn: 'db', names: { dns: ['db'], ip: ['10.0.0.5'] }, days: 30 });
  const pub = execFileSync('openssl', ['pkey', '-pubout'], { input: issued.keyPem }).toString();
  const v = parseTls({ parts: [part('cert', `\n${issued.certPem}`), part('key', 'postgres postgres 600\n'), part('keypub', pub)] });
  t.equal(v.cert, issued.certPem);
  t.match(v.info, { subject: 'CN=db', names: { dns: ['db'], ip: ['10.0.0.5'] } });
  t.same(v.key, { state: 'file', owner: 'postgres', group: 'postgres', mode: '600' });
  t.equal(v.key_public, pub);
  t.match(tlsRows(v).join('\n'), /CN=db, DNS:db, IP:10\.0\.0\.5\nvalid until \d{4}-.*key postgres:postgres 600/);
  t.notMatch(JSON.stringify(v), /PRIVATE/, 'no private key in the fact');
});

t.test('absent, a symlinked key, garbage', async (t) => {
  t.same(parseTls({ parts: [part('cert', ''), part('key', ''), part('keypub', '')] }), tlsFact.absent());
  t.same(parseTls({ parts: [part('key', 'symlink\n')] }).key, { state: 'symlink' });
  const junk = parseTls({ parts: [part('cert', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), part('key', 'root root 600 extra\n'), part('keypub', 'rm -rf /')] });
  t.same(junk, tlsFact.absent(), 'a certificate that does not parse and odd lines count as nothing');
  t.same(tlsRows(tlsFact.absent()), ['no certificate']);
});

t.test('the command is shellcheck-clean', async (t) => {
  const sc = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: `ic_part() { :; }\n${TLS_COMMAND}\n`, encoding: 'utf8' });
  if (sc.error) return t.plan(0, 'shellcheck not installed');
  t.equal(sc.status, 0, sc.stdout);
});
