// Reading certificates (pure, node:crypto): subject, names, validity, issuer, and whether a CA signed one; the names a
// certificate carries in one spelling. Below facts (the tls fact parses a host's certificate) and the tls room.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/** The subject alternative names of a certificate: DNS names (lower-case) and IP addresses (canonical), sorted. */
export interface CertNames {
  dns: string[];
  ip: string[];
}

/** A DNS name openssl and libpq take as one SAN entry: labels of letters, digits, '-', '_', an optional leading '*.'. */
const DNS_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/** True for a name that can go into a SAN as it is (no comma, colon, space or slash can slip through). */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_NAME.test(name);
}

/** An IP address in one spelling: IPv4 as is, IPv6 in its compressed lower-case form (as a URL spells it). */
export function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** One line: DNS:a, DNS:b, IP:10.0.0.1. */
export function namesText(n: CertNames): string {
  return [...n.dns.map((d) => `DNS:${d}`), ...n.ip.map((i) => `IP:${i}`)].join(', ');
}

/** What differs between the names a certificate has and those it should have. */
export function namesDiff(have: CertNames, want: CertNames): { missing: string[]; extra: string[] } {
  const h = new Set(namesText(have).split(', ').filter(Boolean));
  const w = new Set(namesText(want).split(', ').filter(Boolean));
  return { missing: [...w].filter((x) => !h.has(x)), extra: [...h].filter((x) => !w.has(x)) };
}

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
