// The estate's TLS as apply, plan and the audit see it: the CA (made once by apply, only read otherwise), and per host
// what its certificate should be, with a new one issued here when apply needs it (the only step that signs).
import type { TlsFact } from '../facts/tls.js';
import { estateTls } from '../inventory/load.js';
import type { EstateTls, Host, Inventory } from '../inventory/types.js';
import { caWhere, ensureCa, loadCa, type EstateCa } from './ca.js';
import { certAction, certVerdict } from '../operations/tls-verdict.js';
import type { TlsInput } from '../operations/tls.js';
import { issueCert } from './issue.js';
import { commonName, desiredNames } from './names.js';

/** True when a host's cluster speaks TLS with a certificate of the estate (the inventory's default for Postgres hosts). */
export function tlsEnabled(host: Pick<Host, 'postgres'>): boolean {
  return host.postgres?.tls?.enabled === true;
}

/** `preview` (plan, audit): the CA is read if it exists, nothing is made or signed. `issue` (apply): the CA exists. */
export interface TlsSource {
  mode: 'preview' | 'issue';
  estate: EstateTls;
  ca: EstateCa | null;
}

/** The source for a run; apply (`issue`) makes the CA once when a selected host needs it. */
export async function tlsSource(inv: Pick<Inventory, 'dir' | 'tls'>, mode: 'preview' | 'issue', hosts: Pick<Host, 'postgres'>[] = []): Promise<TlsSource> {
  const estate = inv.tls ?? estateTls(undefined, inv.dir);
  const ca = mode === 'issue' && hosts.some(tlsEnabled) ? await ensureCa(estate) : loadCa(estate);
  return { mode, estate, ca };
}

/** Days left below which apply renews (never half the lifetime or more, so that a renewal is not due at once again). */
export function renewBeforeDays(estate: EstateTls): number {
  return Math.min(estate.renew_before_days, Math.floor(estate.days / 2));
}

/** Judge a host's certificate and, in apply, issue the new one it needs. Undefined without a source or without TLS. */
export async function tlsForHost(source: TlsSource | undefined, host: Host, fact: TlsFact | undefined, now = new Date()): Promise<TlsInput | undefined> {
  if (!source || !tlsEnabled(host) || !fact) return undefined;
  const names = desiredNames(host);
  const verdict = certVerdict({ fact, ca: source.ca?.cert ?? null, want: names, now, expiringDays: renewBeforeDays(source.estate) });
  const action = certAction(verdict);
  const cn = commonName(host);
  const days = source.estate.days;
  const issued = source.mode === 'issue' && source.ca && (action === 'issue' || action === 'renew') ? await issueCert({ ca: source.ca, cn, names, days }) : null;
  return { host: host.name, cn, names, verdict, action, issued, ca: source.ca, where: caWhere(source.estate), days };
}
