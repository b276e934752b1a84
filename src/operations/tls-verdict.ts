// Judging a host's certificate (pure): one list of problems that the plan acts on and the audit reports (tls/source
// gives it the estate's CA and the inventory's names).
import type { X509Certificate } from 'node:crypto';
import type { TlsFact } from '../facts/tls.js';
import { TLS_FILES } from '../core/host-paths.js';
import { keyMatches, loadCert, namesDiff, namesText, signedBy, type CertInfo, type CertNames } from '../core/x509.js';

/** The audit warns this many days before a certificate expires. */
export const WARN_DAYS = 30;
const DAY_MS = 86400_000;
/** A certificate that starts less than this after the controller's now is taken as valid (it was issued just now, and
 *  openssl 3.0's `x509 -req` cannot backdate it): only clocks further apart than that matter, and the clock line judges them. */
export const NOT_BEFORE_SLACK_MS = 300_000;

/** Something wrong with a host's certificate or key. */
export type CertProblem =
  | { kind: 'absent' }
  | { kind: 'no-ca' }
  | { kind: 'foreign'; issuer: string }
  | { kind: 'not-yet-valid'; from: string }
  | { kind: 'expired'; at: string }
  | { kind: 'expiring'; days: number; at: string }
  | { kind: 'names'; missing: string[]; extra: string[] }
  | { kind: 'key-absent' }
  | { kind: 'key-symlink' }
  | { kind: 'key-mismatch' }
  | { kind: 'key-unchecked' }
  | { kind: 'key-perms'; owner: string; mode: string };

/** What to do about it: nothing, fix the key's owner and mode, renew as routine (only time ran on), or issue anew. */
export type CertAction = 'none' | 'perms' | 'renew' | 'issue';

/** A certificate as found (null when there is none) and everything wrong with it. */
export interface CertVerdict {
  info: CertInfo | null;
  problems: CertProblem[];
}

/** The problems of what a host has, against the estate's CA, the names it should carry and the time now.
 *  `expiringDays`: a certificate with fewer days left is `expiring`. */
export function certVerdict(args: { fact: TlsFact; ca: X509Certificate | null; want: CertNames; now: Date; expiringDays: number }): CertVerdict {
  const { fact, ca, want, now } = args;
  const cert = loadCert(fact.cert);
  const problems: CertProblem[] = [];
  if (!cert || !fact.info) return { info: null, problems: [{ kind: 'absent' }] };
  const info = fact.info;
  if (!ca) problems.push({ kind: 'no-ca' });
  else if (!signedBy(cert, ca)) problems.push({ kind: 'foreign', issuer: info.issuer });
  const t = now.getTime();
  const end = Date.parse(info.not_after);
  if (Date.parse(info.not_before) > t + NOT_BEFORE_SLACK_MS) problems.push({ kind: 'not-yet-valid', from: info.not_before });
  if (end <= t) problems.push({ kind: 'expired', at: info.not_after });
  else if (end - t < args.expiringDays * DAY_MS) problems.push({ kind: 'expiring', days: Math.floor((end - t) / DAY_MS), at: info.not_after });
  const d = namesDiff(info.names, want);
  if (d.missing.length || d.extra.length) problems.push({ kind: 'names', ...d });
  const key = fact.key;
  if (key.state === 'absent') problems.push({ kind: 'key-absent' });
  else if (key.state === 'symlink') problems.push({ kind: 'key-symlink' });
  else {
    if (fact.key_public === null) problems.push({ kind: 'key-unchecked' });
    else if (!keyMatches(cert, fact.key_public)) problems.push({ kind: 'key-mismatch' });
    if (key.owner !== 'postgres' || !['600', '400', '0600', '0400'].includes(key.mode)) problems.push({ kind: 'key-perms', owner: `${key.owner}:${key.group}`, mode: key.mode });
  }
  return { info, problems };
}

/** Problems the audit only warns about; every other one is a failure. */
export function isWarning(p: CertProblem): boolean {
  return p.kind === 'expiring' || p.kind === 'key-unchecked';
}

/** What apply does about a verdict. */
export function certAction(v: CertVerdict): CertAction {
  const kinds = new Set(v.problems.map((p) => p.kind));
  kinds.delete('key-unchecked');
  const perms = kinds.delete('key-perms');
  const expiring = kinds.delete('expiring');
  if (kinds.size) return 'issue';
  if (expiring) return 'renew';
  return perms ? 'perms' : 'none';
}

/** One problem in words. */
export function problemText(p: CertProblem): string {
  switch (p.kind) {
    case 'absent':
      return `no certificate at ${TLS_FILES.cert}`;
    case 'no-ca':
      return "the estate's CA does not exist yet, so nothing can be checked against it";
    case 'foreign':
      return `NOT SIGNED BY THE ESTATE'S CA (issuer ${p.issuer}): clients that verify refuse it`;
    case 'not-yet-valid':
      return `not valid before ${p.from}`;
    case 'expired':
      return `EXPIRED on ${p.at}: clients that verify refuse every connection`;
    case 'expiring':
      return `expires in ${p.days} day${p.days === 1 ? '' : 's'} (${p.at})`;
    case 'names':
      return `names differ from the inventory's:${p.missing.length ? ` missing ${p.missing.join(', ')}` : ''}${p.extra.length ? ` extra ${p.extra.join(', ')}` : ''}`;
    case 'key-absent':
      return `no key at ${TLS_FILES.key}`;
    case 'key-symlink':
      return `${TLS_FILES.key} is a symlink (refused: it could point anywhere)`;
    case 'key-mismatch':
      return `${TLS_FILES.key} is not the key of the certificate: the server cannot load the pair`;
    case 'key-unchecked':
      return 'the key could not be compared with the certificate (no openssl on the host)';
    case 'key-perms':
      return `${TLS_FILES.key} is ${p.owner} mode ${p.mode}; it must be postgres's, 0600`;
  }
}

/** The certificate in one line: subject, names, end of validity. */
export function infoText(info: CertInfo): string {
  return `${info.subject}, ${namesText(info.names)}, valid until ${info.not_after}`;
}
