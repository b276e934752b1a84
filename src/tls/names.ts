// The names a host's certificate must carry, from the inventory alone (a host never proposes its own names).
import { isIP } from 'node:net';
import { canonicalIp, isDnsName, type CertNames } from '../core/x509.js';
import type { Host } from '../inventory/types.js';

/** Listen values that are no address of the host: every interface. */
const WILDCARDS = new Set(['*', '0.0.0.0', '::']);

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
