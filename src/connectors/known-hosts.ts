// known_hosts parsing and host-key checking: an unknown or changed key is refused, with the fix in the message.
import { createHash, createHmac } from 'node:crypto';

export interface KnownKey {
  type: string;
  key: Buffer;
  revoked: boolean;
}

/** The host string as known_hosts writes it: addr, or [addr]:port when the port is not 22. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function matches(field: string, host: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(host).digest('base64');
    return mac === hash;
  }
  let hit = false;
  for (const pat of field.split(',')) {
    const negated = pat.startsWith('!');
    const re = new RegExp('^' + pat.replace(/^!/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    if (re.test(host)) {
      if (negated) return false;
      hit = true;
    }
  }
  return hit;
}

/** Keys that known_hosts text holds for a host (address + port). */
export function keysFor(text: string, address: string, port: number): KnownKey[] {
  const host = hostPattern(address, port);
  const out: KnownKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0].startsWith('@')) {
      if (parts[0] === '@cert-authority') continue;
      revoked = parts[0] === '@revoked';
      parts.shift();
    }
    const [hosts, type, b64] = parts;
    if (!hosts || !type || !b64 || !matches(hosts, host)) continue;
    out.push({ type, key: Buffer.from(b64, 'base64'), revoked });
  }
  return out;
}

/** OpenSSH-style fingerprint of a raw public key blob. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Host key algorithms to offer so the server presents a key type we know. */
export function algorithmsFor(keys: KnownKey[]): string[] {
  const out = new Set<string>();
  for (const k of keys) {
    if (k.revoked) continue;
    if (k.type === 'ssh-rsa') ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => out.add(a));
    else out.add(k.type);
  }
  return [...out];
}

export type KeyVerdict = { ok: true } | { ok: false; reason: 'unknown' | 'changed' | 'revoked'; presented: string; expected: string[] };

/** Compare the key a server presented with the known ones. */
export function verifyKey(keys: KnownKey[], presented: Buffer): KeyVerdict {
  const fp = fingerprint(presented);
  if (keys.some((k) => k.revoked && k.key.equals(presented))) return { ok: false, reason: 'revoked', presented: fp, expected: [] };
  const good = keys.filter((k) => !k.revoked);
  if (good.some((k) => k.key.equals(presented))) return { ok: true };
  return { ok: false, reason: good.length ? 'changed' : 'unknown', presented: fp, expected: good.map((k) => fingerprint(k.key)) };
}

/** The message a person needs for a refused key, with the command that fixes it. */
export function keyRefusal(v: Exclude<KeyVerdict, { ok: true }>, host: string, address: string, port: number, file: string): string {
  const scan = `ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${address} >> ${file}`;
  switch (v.reason) {
    case 'unknown':
      return `host key of ${host} (${hostPattern(address, port)}) is not in ${file}; refusing to connect (no trust on first use).\n  The host presented ${v.presented}. Check it on the server (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: ${scan}`;
    case 'changed':
      return `HOST KEY CHANGED for ${host} (${hostPattern(address, port)}): ${file} has ${v.expected.join(', ')}, the host presented ${v.presented}; refusing to connect.\n  This is a reinstalled server or a man in the middle. If you know why it changed: ssh-keygen -R ${hostPattern(address, port)} -f ${file} && ${scan}`;
    case 'revoked':
      return `host key of ${host} (${hostPattern(address, port)}) is marked @revoked in ${file}; refusing to connect.`;
  }
}

/** The known_hosts lines that match a host, as they are (to pin a store's key on a database host). */
export function linesFor(text: string, address: string, port: number): string[] {
  return text.split('\n').filter((line) => {
    const t = line.trim();
    return t && !t.startsWith('#') && keysFor(t, address, port).length > 0;
  });
}
