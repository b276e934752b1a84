// TLS of a host's cluster (pure): the settings that turn it on, and the change that installs its certificate and key.
import { shq } from '../core/quote.js';
import type { PostgresSpec } from '../inventory/types.js';
import type { X509Certificate } from 'node:crypto';
import { HOST_PATHS, TLS_FILES } from '../core/host-paths.js';
import { namesText, type CertInfo, type CertNames } from '../core/x509.js';
import { infoText, problemText, type CertAction, type CertVerdict } from './tls-verdict.js';
import { lineDiff } from './diff.js';
import type { Change } from './types.js';

const TLS_DIR = HOST_PATHS.tls;

/** What planHost needs to plan a host's certificate (tls/source.ts tlsForHost makes it): the verdict on what it has, and
 *  the pair apply issued (null in plan and audit) with the estate's CA. */
export interface TlsInput {
  host: string;
  cn: string;
  names: CertNames;
  verdict: CertVerdict;
  action: CertAction;
  /** Set by apply when the action is `issue` or `renew`; null in plan and audit. */
  issued: { certPem: string; keyPem: string; info: CertInfo } | null;
  ca: { pem: string; cert: X509Certificate } | null;
  where: string;
  days: number;
}

/** The settings conf.d/ironclad.conf gets for TLS (the inventory's own `settings` override them). */
export function tlsSettings(pg: PostgresSpec): Record<string, string | boolean> {
  return pg.tls?.enabled ? { ssl: true, ssl_cert_file: TLS_FILES.cert, ssl_key_file: TLS_FILES.key } : {};
}

/** What the plan shows of a certificate: never the PEM, never the key. */
function summary(lines: { subject: string; names: string; until: string; issuer: string }): string {
  return [`subject: ${lines.subject}`, `names: ${lines.names}`, `valid until: ${lines.until}`, `issuer: ${lines.issuer}`, 'key: server.key (secret, not shown)', ''].join('\n');
}

/** Install a certificate and key: the key never readable by anyone but postgres (mode set before its bytes arrive and
 *  the file renamed into place), both written beside the old ones, fsynced, then renamed (the server reads them on reload). */
function installCommands(input: TlsInput): Change['commands'] {
  if (!input.issued || !input.ca) return [];
  const { cert, key, ca } = TLS_FILES;
  return [
    { kind: 'sh', script: `install -d -m 755 -o root -g root ${shq(TLS_DIR)}` },
    { kind: 'upload', path: `${key}.new`, content: input.issued.keyPem, mode: '600', owner: 'postgres:postgres' },
    { kind: 'upload', path: `${cert}.new`, content: input.issued.certPem, mode: '644', owner: 'root:root' },
    { kind: 'upload', path: ca, content: input.ca.pem, mode: '644', owner: 'root:root' },
    { kind: 'sh', script: `sync ${shq(`${key}.new`)} ${shq(`${cert}.new`)} ${shq(ca)} && mv -f ${shq(`${key}.new`)} ${shq(key)} && mv -f ${shq(`${cert}.new`)} ${shq(cert)} && sync ${shq(TLS_DIR)}` },
  ];
}

/** The certificate change of a host, if any. `renew` (only time ran on) is the routine operation `tls-renew`. Throws
 *  when TLS is on but the caller passed no input: the settings would turn ssl on without a certificate. */
export function tlsChange(pg: PostgresSpec, input: TlsInput | undefined): Change | undefined {
  if (!pg.tls?.enabled) return undefined;
  if (!input) throw new Error('internal: TLS is on for this cluster but planHost got no TLS input');
  const reasons = input.verdict.problems.filter((p) => p.kind !== 'key-unchecked').map(problemText);
  switch (input.action) {
    case 'none':
      return undefined;
    case 'perms':
      return {
        operation: 'tls',
        description: `make ${TLS_FILES.key} postgres's, mode 0600 (${reasons.join('; ')})`,
        commands: [{ kind: 'sh', script: `chown postgres:postgres ${shq(TLS_FILES.key)} && chmod 600 ${shq(TLS_FILES.key)}` }],
      };
    case 'renew':
    case 'issue': {
      const i = input.issued?.info;
      const after = summary({
        subject: i?.subject ?? `CN=${input.cn}`,
        names: namesText(i?.names ?? input.names),
        until: i?.not_after ?? `${input.days} days after apply issues it`,
        issuer: i?.issuer ?? input.ca?.cert.subject.replace(/\n/g, ', ') ?? `${input.where} (apply creates it)`,
      });
      const old = input.verdict.info;
      const before = old ? summary({ subject: old.subject, names: namesText(old.names), until: old.not_after, issuer: old.issuer }) : null;
      const what = i ? infoText(i) : `CN=${input.cn}, ${namesText(input.names)}, valid ${input.days} days`;
      return {
        operation: input.action === 'renew' ? 'tls-renew' : 'tls',
        description: `${input.action === 'renew' ? 'renew' : 'issue'} the server certificate from ${input.where}: ${what} (${reasons.join('; ')})`,
        diff: lineDiff(before, after, TLS_FILES.cert),
        commands: installCommands(input),
      };
    }
  }
}
