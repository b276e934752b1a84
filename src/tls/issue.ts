// Issuing a host's certificate on the controller: a fresh key and a certificate signed by the estate's CA, made by
// openssl from argv and a config file in a private temporary folder that is removed afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../core/secrets.js';
import type { EstateCa } from './ca.js';
import { certInfo, isDnsName, loadCert, namesText, type CertInfo, type CertNames } from '../core/x509.js';
import { isIP } from 'node:net';
import { openssl } from './openssl.js';

/** A certificate and its key, ready to go to the host. The key is registered as a secret: masked in every output. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
  info: CertInfo;
}

/** The extension section openssl adds: a server certificate for exactly these names. Names are checked again here,
 *  so that nothing but a DNS name or an IP can reach the config file (a comma would add a name). */
export function extensions(names: CertNames): string {
  const bad = [...names.dns.filter((d) => !isDnsName(d)), ...names.ip.filter((i) => !isIP(i))];
  if (bad.length) throw new Error(`refusing to put '${bad.join("', '")}' in a certificate: not a DNS name or an IP address`);
  if (!names.dns.length && !names.ip.length) throw new Error('a certificate needs at least one name');
  return [
    '[v3]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${namesText(names)}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid,issuer',
    '',
  ].join('\n');
}

/** Issue a server certificate for `cn` and `names`, valid `days` days from now. */
export async function issueCert(args: { ca: EstateCa; cn: string; names: CertNames; days: number }): Promise<IssuedCert> {
  const { ca, cn, names, days } = args;
  if (!isDnsName(cn)) throw new Error(`refusing '${cn}' as a certificate's common name`);
  const dir = mkdtempSync(join(tmpdir(), 'ironclad-tls-'));
  try {
    const f = (n: string) => join(dir, n);
    writeFileSync(f('ext.cnf'), extensions(names), { mode: 0o600 });
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f('host.key')]);
    await openssl(['req', '-new', '-key', f('host.key'), '-subj', `/CN=${cn}`, '-out', f('host.csr')]);
    const serial = `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`;
    await openssl(['x509', '-req', '-in', f('host.csr'), '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', serial, '-days', String(days), '-sha256',
      '-extfile', f('ext.cnf'), '-extensions', 'v3', '-out', f('host.crt')]);
    const keyPem = readFileSync(f('host.key'), 'utf8');
    registerSecret(keyPem.trim());
    const certPem = readFileSync(f('host.crt'), 'utf8');
    const cert = loadCert(certPem);
    if (!cert) throw new Error('openssl wrote no certificate');
    return { certPem, keyPem, info: certInfo(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
