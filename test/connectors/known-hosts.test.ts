import { createHmac, generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { algorithmsFor, fingerprint, hostPattern, keyRefusal, keysFor, linesFor, verifyKey } from '../../src/connectors/known-hosts.js';

const blob = (n: number) => Buffer.from(`ssh-ed25519-blob-${n}`);
const b64 = (n: number) => blob(n).toString('base64');
const hashed = (host: string) => {
  const salt = Buffer.from('0123456789abcdefghij');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(host).digest('base64')}`;
};
const text = [
  '# comment',
  `db-prod,10.0.0.10 ssh-ed25519 ${b64(1)}`,
  `[10.0.0.11]:2222 ssh-ed25519 ${b64(2)}`,
  `${hashed('10.0.0.12')} ssh-rsa ${b64(3)}`,
  `@revoked 10.0.0.13 ssh-ed25519 ${b64(4)}`,
  `10.0.0.13 ssh-ed25519 ${b64(5)}`,
  `10.0.0.* ecdsa-sha2-nistp256 ${b64(6)}`,
].join('\n');

t.test('keysFor matches plain, comma lists, ports, hashed entries and wildcards', async (t) => {
  const cases: [string, number, number[]][] = [
    ['10.0.0.10', 22, [1, 6]],
    ['10.0.0.11', 2222, [2]],
    ['10.0.0.11', 22, [6]],
    ['10.0.0.12', 22, [3, 6]],
    ['10.0.0.99', 22, [6]],
    ['10.1.0.10', 22, []],
  ];
  for (const [addr, port, want] of cases)
    t.same(keysFor(text, addr, port).map((k) => k.key.toString()), want.map((n) => blob(n).toString()), `${addr}:${port}`);
  t.equal(hostPattern('10.0.0.11', 2222), '[10.0.0.11]:2222');
  t.same(linesFor(text, '10.0.0.11', 2222), [`[10.0.0.11]:2222 ssh-ed25519 ${b64(2)}`]);
});

t.test('verifyKey: known, changed, unknown, revoked', async (t) => {
  const keys = keysFor(text, '10.0.0.10', 22);
  t.same(verifyKey(keys, blob(1)), { ok: true });
  t.match(verifyKey(keys, blob(9)), { ok: false, reason: 'changed', presented: fingerprint(blob(9)) });
  t.match(verifyKey([], blob(9)), { ok: false, reason: 'unknown' });
  t.match(verifyKey(keysFor(text, '10.0.0.13', 22), blob(4)), { ok: false, reason: 'revoked' });
  t.same(verifyKey(keysFor(text, '10.0.0.13', 22), blob(5)), { ok: true });
});

t.test('refusal messages say how to fix it and never trust on first use', async (t) => {
  const changed = verifyKey(keysFor(text, '10.0.0.10', 22), blob(9));
  if (changed.ok) throw new Error('expected a refusal');
  const msg = keyRefusal(changed, 'db-prod', '10.0.0.10', 22, '/kh');
  t.match(msg, /HOST KEY CHANGED for db-prod/);
  t.match(msg, /ssh-keygen -R 10\.0\.0\.10 -f \/kh && ssh-keyscan 10\.0\.0\.10 >> \/kh/);
  const unknown = verifyKey([], blob(9));
  if (unknown.ok) throw new Error('expected a refusal');
  t.match(keyRefusal(unknown, 'db', '10.0.0.10', 2222, '/kh'), /not in \/kh; refusing to connect \(no trust on first use\)[\s\S]*ssh-keyscan -p 2222/);
});

t.test('algorithmsFor offers only the key types we know', async (t) => {
  t.same(algorithmsFor(keysFor(text, '10.0.0.12', 22)), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
  t.same(algorithmsFor(keysFor(text, '10.0.0.13', 22)), ['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  t.ok(generateKeyPairSync);
});
