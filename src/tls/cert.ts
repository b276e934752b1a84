// Reading certificates (pure, node:crypto): subject, names, validity, issuer, and whether a CA signed one.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { canonicalIp, type CertNames } from './names.js';

/** What a person and the checks need to know of a certificate. */
export interface CertInfo {
  subject: string;
  issuer: string;
  names: CertNames;
  not_before: string;
  not_after: string;
  serial: string;
  fingerprint256: string;
}

/** The first PEM certificate block of a text, or null. */
export function firstPem(text: string): string | null {
  const m = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/.exec(text);
  return m ? m[0] + '\n' : null;
}

/** Parse a PEM certificate; null when it is not one. */
export function loadCert(pem: string | null): X509Certificate | null {
  if (!pem) return null;
  try {
    return new X509Certificate(pem);
  } catch {
    return null;
  }
}

/** The SANs of a certificate, as DNS names and canonical IPs. */
export function certNames(cert: X509Certificate): CertNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4).toLowerCase());
    else if (entry.startsWith('IP Address:')) ip.push(canonicalIp(entry.slice(11)));
  }
  return { dns: [...new Set(dns)].sort(), ip: [...new Set(ip)].sort() };
}

const iso = (d: string) => new Date(Date.parse(d)).toISOString();

/** The facts of a certificate worth showing (no PEM). */
export function certInfo(cert: X509Certificate): CertInfo {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    names: certNames(cert),
    not_before: iso(cert.validFrom),
    not_after: iso(cert.validTo),
    serial: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

/** True when `ca` issued `cert` and its signature checks out with the CA's key. */
export function signedBy(cert: X509Certificate, ca: X509Certificate): boolean {
  try {
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    return false;
  }
}

/** True when a public key (PEM, as `openssl pkey -pubout` prints it) is the certificate's. */
export function keyMatches(cert: X509Certificate, publicPem: string): boolean {
  try {
    const der = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
    return der(createPublicKey(publicPem)).equals(der(cert.publicKey));
  } catch {
    return false;
  }
}
