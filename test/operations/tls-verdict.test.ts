// The one judgement of a host's certificate that apply acts on and the audit reports, on real certificates.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { TlsFact } from '../../src/facts/tls.js';
import { ensureCa } from '../../src/tls/ca.js';
import { certInfo, loadCert } from '../../src/core/x509.js';
import { issueCert, type IssuedCert } from '../../src/tls/issue.js';
import { certAction, certVerdict, problemText, type CertProblem } from '../../src/operations/tls-verdict.js';
import { tempDir } from '../fixtures/tmp.js';

const managed = (dir: string) => ({ ca: { kind: 'managed' as const, dir }, days: 365, renew_before_days: 30 });
const names = { dns: ['db'], ip: ['10.0.0.5'] };
const pub = (keyPem: string) => execFileSync('openssl', ['pkey', '-pubout'], { input: keyPem }).toString();

function fact(issued: IssuedCert, over: Partial<TlsFact> = {}): TlsFact {
  const x = loadCert(issued.certPem)!;
  return { cert: issued.certPem, info: certInfo(x), key: { state: 'file', owner: 'postgres', group: 'postgres', mode: '600' }, key_public: pub(issued.keyPem), ...over };
}

t.test('each problem, and what apply does about it', async (t) => {
  const ca = await ensureCa(managed(join(tempDir('ironclad-v-'), 'ca')));
  const other = await ensureCa(managed(join(tempDir('ironclad-v-'), 'ca')));
  const good = await issueCert({ ca, cn: 'db', names, days: 365 });
  const soon = await issueCert({ ca, cn: 'db', names, days: 10 });
  const foreign = await issueCert({ ca: other, cn: 'db', names, days: 365 });
  const renamed = await issueCert({ ca, cn: 'db', names: { dns: ['db'], ip: ['10.0.0.9'] }, days: 365 });
  const now = new Date();
  const later = new Date(Date.now() + 400 * 86400_000);
  const kinds = (ps: CertProblem[]) => ps.map((p) => p.kind);
  const cases: { name: string; fact: TlsFact; now?: Date; kinds: string[]; action: string }[] = [
    { name: 'a good certificate', fact: fact(good), kinds: [], action: 'none' },
    { name: 'none yet', fact: { cert: null, info: null, key: { state: 'absent' }, key_public: null }, kinds: ['absent'], action: 'issue' },
    { name: '10 days left', fact: fact(soon), kinds: ['expiring'], action: 'renew' },
    { name: 'expired', fact: fact(good), now: later, kinds: ['expired'], action: 'issue' },
    { name: 'another CA', fact: fact(foreign), kinds: ['foreign'], action: 'issue' },
    { name: 'names changed', fact: fact(renamed), kinds: ['names'], action: 'issue' },
    { name: 'the key of another certificate', fact: fact(good, { key_public: pub(soon.keyPem) }), kinds: ['key-mismatch'], action: 'issue' },
    { name: 'key readable by the group', fact: fact(good, { key: { state: 'file', owner: 'postgres', group: 'postgres', mode: '640' } }), kinds: ['key-perms'], action: 'perms' },
    { name: "key root's", fact: fact(good, { key: { state: 'file', owner: 'root', group: 'root', mode: '600' } }), kinds: ['key-perms'], action: 'perms' },
    { name: 'key a symlink', fact: fact(good, { key: { state: 'symlink' } }), kinds: ['key-symlink'], action: 'issue' },
    { name: 'no openssl on the host', fact: fact(good, { key_public: null }), kinds: ['key-unchecked'], action: 'none' },
  ];
  for (const c of cases) {
    const v = certVerdict({ fact: c.fact, ca: ca.cert, want: names, now: c.now ?? now, expiringDays: 30 });
    t.same(kinds(v.problems), c.kinds, c.name);
    t.equal(certAction(v), c.action, `${c.name}: ${c.action}`);
  }
  const none = certVerdict({ fact: fact(good), ca: null, want: names, now, expiringDays: 30 });
  t.same(kinds(none.problems), ['no-ca'], 'no CA yet: nothing to check against');
  t.equal(certAction(none), 'issue');
  const v = certVerdict({ fact: fact(soon), ca: ca.cert, want: names, now, expiringDays: 30 });
  t.match(problemText(v.problems[0]!), /^expires in (9|10) days \(\d{4}-/);
});
