// SCRAM-SHA-256 verifiers computed here, so a password never crosses the wire in clear and a re-run can tell it is unchanged.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** A PostgreSQL SCRAM-SHA-256 verifier for a password, with a given or fresh salt. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** True when a stored verifier was made from this password (same salt and iterations recomputed). */
export function scramMatches(stored: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored);
  if (!m) return false;
  return scramVerifier(password, Buffer.from(m[2], 'base64'), Number(m[1])) === stored;
}
