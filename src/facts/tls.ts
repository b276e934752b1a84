// The `tls` fact: the certificate ironclad installed on a host (public), its key's owner and mode, and the public half
// of that key as derived on the host (the private key itself is never read back).
import { certInfo, firstPem, loadCert, namesText, type CertInfo } from '../core/x509.js';
import { TLS_FILES } from '../core/host-paths.js';
import { partText } from './text.js';
import type { FactDef, Section } from './types.js';

/** The key file: missing, a symlink (refused: a link can point anywhere), or a file with its owner and mode. */
export type TlsKeyFile = { state: 'absent' } | { state: 'symlink' } | { state: 'file'; owner: string; group: string; mode: string };

/** What the host has at /etc/ironclad/tls. */
export interface TlsFact {
  /** The server certificate (PEM, public); null when absent or not a certificate. */
  cert: string | null;
  /** Its subject, names and validity, when it parses. */
  info: CertInfo | null;
  key: TlsKeyFile;
  /** The key's public half (`openssl pkey -pubout` on the host), null when it could not be derived. */
  key_public: string | null;
}

const { cert, key } = TLS_FILES;

/** Read-only; a symlink is reported as such and never followed. */
export const TLS_COMMAND = `
ic_part cert
if [ -f ${cert} ] && [ ! -L ${cert} ]; then head -c 65536 ${cert}; fi
ic_part key
if [ -L ${key} ]; then echo symlink; elif [ -f ${key} ]; then stat -c '%U %G %a' ${key}; fi
ic_part keypub
if [ -f ${key} ] && [ ! -L ${key} ] && command -v openssl >/dev/null 2>&1; then openssl pkey -in ${key} -pubout 2>/dev/null || true; fi
exit 0`;

/** Pure: the fact from its parts; anything unexpected counts as absent. */
export function parseTls(section: Pick<Section, 'parts'>): TlsFact {
  const pem = firstPem(partText(section as Section, 'cert') ?? '');
  const x = loadCert(pem);
  const keyLine = (partText(section as Section, 'key') ?? '').trim();
  const m = /^(\S+) (\S+) ([0-7]{3,4})$/.exec(keyLine);
  const keyFile: TlsKeyFile = keyLine === 'symlink' ? { state: 'symlink' } : m ? { state: 'file', owner: m[1], group: m[2], mode: m[3] } : { state: 'absent' };
  const pub = /-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----/.exec(partText(section as Section, 'keypub') ?? '');
  return { cert: x ? pem : null, info: x ? certInfo(x) : null, key: keyFile, key_public: pub ? pub[0] + '\n' : null };
}

/** The fact: always runs (no tool needed); a host without the files reports nothing installed. */
export const tlsFact: FactDef<TlsFact> = {
  name: 'tls',
  tool: null,
  command: TLS_COMMAND,
  parse: parseTls,
  absent: () => ({ cert: null, info: null, key: { state: 'absent' }, key_public: null }),
};

/** The fact in a few lines for `ironclad facts`. */
export function tlsRows(v: TlsFact): string[] {
  if (!v.info) return [v.key.state === 'absent' ? 'no certificate' : 'a key but no certificate'];
  const keyText = v.key.state === 'file' ? `key ${v.key.owner}:${v.key.group} ${v.key.mode}` : `key ${v.key.state}`;
  return [`${v.info.subject}, ${namesText(v.info.names)}`, `valid until ${v.info.not_after}, issued by ${v.info.issuer}, ${keyText}`];
}
