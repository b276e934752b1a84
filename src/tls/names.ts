// The names a host's certificate must carry, from the inventory alone (a host never proposes its own names).
import { isIP } from 'node:net';
import type { Host } from '../inventory/types.js';

/** The subject alternative names of a certificate: DNS names (lower-case) and IP addresses (canonical), sorted. */
export interface CertNames {
  dns: string[];
  ip: string[];
}

/** A DNS name openssl and libpq take as one SAN entry: labels of letters, digits, '-', '_', an optional leading '*.'. */
const DNS_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/** Listen values that are no address of the host: every interface. */
const WILDCARDS = new Set(['*', '0.0.0.0', '::']);

/** True for a name that can go into a SAN as it is (no comma, colon, space or slash can slip through). */
export function isDnsName(name: string): boolean {
  return name.length <= 253 && DNS_NAME.test(name);
}

/** An IP address in one spelling: IPv4 as is, IPv6 in its compressed lower-case form (as a URL spells it). */
export function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

/** The names a host's certificate must carry: its inventory name, its address, its listen addresses and
 *  `postgres.tls.names`; wildcards and anything that is neither an IP nor a DNS name are left out. */
export function desiredNames(host: Host): CertNames {
  const dns = new Set<string>();
  const ip = new Set<string>();
  const take = (value: string) => {
    if (WILDCARDS.has(value) || value.includes('%')) return; // an IPv6 zone (fe80::1%eth0) has no place in a certificate
    if (isIP(value)) ip.add(canonicalIp(value));
    else if (isDnsName(value.toLowerCase())) dns.add(value.toLowerCase());
  };
  take(host.name);
  take(host.address);
  for (const l of host.postgres?.listen ?? []) take(l);
  for (const n of host.postgres?.tls?.names ?? []) take(n);
  return { dns: [...dns].sort(), ip: [...ip].sort() };
}

/** The certificate's subject common name: the host's inventory name. */
export function commonName(host: Host): string {
  return host.name;
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
