// Judging a host's TLS certificate for the audit: red when missing, expired, not the estate CA's, or its key is wrong;
// yellow 30 days before it expires.
import type { TlsFact } from '../facts/tls.js';
import type { Host } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { caWhere } from '../tls/ca.js';
import { desiredNames } from '../tls/names.js';
import { tlsEnabled, type TlsSource } from '../tls/source.js';
import { certVerdict, infoText, isWarning, problemText, WARN_DAYS } from '../operations/tls-verdict.js';
import { finding } from './finding.js';
import type { Finding } from './types.js';

/** The certificate line of a Postgres host (none for other hosts, or when the fact or the source was not gathered). */
export function judgeTls(host: Host, fact: TlsFact | undefined, source: TlsSource | undefined, now: Date): Finding[] {
  if (!host.postgres) return [];
  if (!tlsEnabled(host)) return [finding(host.name, 'tls', 'certificate', 'ok', 'TLS is off for this cluster by the inventory (postgres.tls.enabled: false)')];
  if (!fact || !source) return [];
  const v = certVerdict({ fact, ca: source.ca?.cert ?? null, want: desiredNames(host), now, expiringDays: WARN_DAYS });
  const fix = ['run: ironclad apply (it issues a certificate from the estate\'s CA and reloads the server)'];
  const info = v.info ? [infoText(v.info), `issuer ${v.info.issuer}, sha256 ${v.info.fingerprint256}`] : [];
  const failures = v.problems.filter((p) => !isWarning(p));
  if (failures.length) return [finding(host.name, 'tls', 'certificate', 'failure', failures.map(problemText).join('; '), [...v.problems.filter(isWarning).map(problemText), ...info, ...fix])];
  if (v.problems.length) return [finding(host.name, 'tls', 'certificate', 'warning', v.problems.map(problemText).join('; '), [...info, ...fix])];
  return [finding(host.name, 'tls', 'certificate', 'ok', `${infoText(v.info!)}, signed by ${caWhere(source.estate)}`)];
}

/** True when all a plan would do is renew certificates that near their end (and reload the server that reads them):
 *  routine upkeep, a warning in the audit rather than drift. */
export function isRoutineRenewal(changes: Pick<Change, 'operation' | 'description' | 'restart'>[]): boolean {
  const routine = (c: (typeof changes)[number]) => c.operation === 'tls-renew' || (c.operation === 'service' && !c.restart && c.description.startsWith('reload '));
  return changes.some((c) => c.operation === 'tls-renew') && changes.every(routine);
}
