import t from 'tap';
import { candidateCondition, candidateSql, luhn, redact, scanValue } from '../../src/refresh/pii.js';
import { ruleValueShape } from '../../src/refresh/scrub.js';

t.test('luhn', async (t) => {
  for (const [n, ok] of [['4111111111111111', true], ['4111111111111112', false], ['5500005555555559', true], ['340000000000009', true], ['0', true]] as const)
    t.equal(luhn(n), ok, n);
});

t.test('scanValue finds what is left, not what is allowed', async (t) => {
  const allowed = ['example.com', 'example.invalid'];
  const cases: [string, string[]][] = [
    ['anna.smith1@gmail.com', ['email']],
    ['dev@example.com', []],
    ['user-1a2b@example.invalid', []],
    ['someone@sub.example.com', []],
    ['+44 20 7946 0123', ['phone']],
    ['555-0142', []],
    ['card 4111 1111 1111 1111', ['card']],
    ['order 4111111111111112', []], // 16 digits failing Luhn: an id, not a card
    ['389 Example Street, Testville', []],
    ['2026-11-25 04:54:47', []],
    ['write to x@y.org or call 0171 555 1234', ['email', 'phone']],
    ['tel:+44 20 7946 0123.', ['phone']],
    ['a3f51234567b9c', []], // digits inside a word: a hash, a token
    ['$2b$12$4411234567890abcdefghijklmno', []],
    ['redacted-1234567', ['phone']], // (the old md5 fakes: a '-' is no word character)
  ];
  for (const [value, kinds] of cases) t.same(scanValue(value, allowed).map((h) => h.kind), kinds, value);
});

t.test('redact hides most of a value', async (t) => {
  t.equal(redact('anna@gmail.com'), 'an**********om');
  t.equal(redact('abc'), '****');
});

t.test('candidateSql: one pass over the table, a column per column, NULL where not a candidate', async (t) => {
  const sql = candidateSql('users', ['email', 'phone'], 10, ['example.com']);
  const e = candidateCondition('"email"::text', ['example.com']);
  const p = candidateCondition('"phone"::text', ['example.com']);
  t.equal(sql, `SELECT CASE WHEN ${e} THEN "email"::text END, CASE WHEN ${p} THEN "phone"::text END FROM "public"."users" WHERE ${e} OR ${p} LIMIT 10`);
  t.match(candidateSql('crm.Contacts', ['Email'], 1), /FROM "crm"\."Contacts" WHERE/, 'schema.table, as PostgreSQL spells it');
});

t.test('candidateCondition puts only real domain names into SQL, lower-cased; a dotless one needs a label before it', async (t) => {
  const c = candidateCondition('v', ['Example.COM', 'localhost', "x'; DROP TABLE users; --", 'not a domain']);
  t.match(c, /lower\(\(v COLLATE "C"\)\) LIKE ANY \(ARRAY\['%@example\.com', '%\.example\.com', '%\.localhost'\]\)/);
  t.notMatch(c, /DROP|not a domain/);
  t.match(candidateCondition('v', []), /AND NOT false\)/, 'no allowed domains: every value with an @ is a candidate');
  t.match(candidateCondition('v', []), /CASE WHEN octet_length\(\(v COLLATE "C"\)\) >= 7 THEN \(v COLLATE "C"\) ~ /, 'a value shorter than a 7-digit run skips the regular expressions');
  // evaluated by PostgreSQL in test/e2e/refresh.test.ts, against scanValue
});

t.test('the fakes of fake: text never look like personal data (the old md5 ones did ~8% of the time)', async (t) => {
  const { createHmac } = await import('node:crypto');
  let hits = 0;
  for (let i = 0; i < 5000; i++) {
    // the same text fakeExpression('text') computes in SQL: redacted- and 16 hex digits, each digit a letter g..p
    const hex = createHmac('sha256', 'k').update(`text:${i}`).digest('hex').slice(0, 16);
    const fake = `redacted-${hex.replace(/[0-9]/g, (d) => 'ghijklmnop'[Number(d)])}`;
    hits += scanValue(fake, []).length;
  }
  t.equal(hits, 0);
});

t.test("a rule's value shape: every value of it holds nothing scanValue finds; the scan's tests skipped only for it", async (t) => {
  const clean = (value: string) => scanValue(value, []).length === 0;
  const chars = ['0', '1', '9', '@', '.', '-', '+', ' ', 'a', 'Z', '(', ')', '_', '%', ','];
  const words = (n: number): string[] => (n === 0 ? [''] : words(n - 1).flatMap((w) => chars.map((c) => w + c)));
  // address: at most 3 bytes before the fixed street (every such prefix of these characters, where hits are made)
  const addresses = [0, 1, 2, 3].flatMap(words).map((p) => `${p} Example Street, Testville`);
  t.same(addresses.filter((a) => !clean(a)), [], `${addresses.length} addresses of the shape, none a hit`);
  const phones = words(2).map((p) => `555-01${p}`);
  t.same(phones.filter((p) => !clean(p)), [], `${phones.length} phone numbers of the shape, none a hit`);
  t.equal(ruleValueShape({ fake: 'address' }, 'v', clean), "(octet_length(v) <= 29 AND v LIKE '% Example Street, Testville')");
  t.equal(ruleValueShape({ fake: 'phone' }, 'v', clean), "(octet_length(v) = 8 AND v LIKE '555-01__')");
  t.match(ruleValueShape({ fake: 'name' }, 'v', clean), /^v = ANY \(ARRAY\['Alex Example', /);
  t.equal(ruleValueShape({ set: '$2b$12$x' }, 'v', clean), "v = '$2b$12$x'");
  t.equal(ruleValueShape({ set: "it's" }, 'v', clean), "v = 'it''s'", 'quoted by sqlLiteral');
  t.equal(ruleValueShape({ set: 'call +44 20 7946 0000' }, 'v', clean), undefined, 'a set value with a hit: scanned in full, so reported');
  t.equal(ruleValueShape({ set: null }, 'v', clean), undefined);
  for (const fake of ['email', 'text', 'uuid'] as const) t.equal(ruleValueShape({ fake }, 'v', clean), undefined, `${fake}: no cheap shape`);
  const c = candidateCondition('"a"::text', [], (v) => `${v} = 'x'`);
  t.match(c, /^\(CASE WHEN \("a"::text COLLATE "C"\) = 'x' THEN false ELSE \(\(strpos/, 'the shape first, then the full test');
  t.match(candidateSql('users', ['a', 'b'], 5, [], { b: () => 'SHAPE' }), /CASE WHEN SHAPE THEN false ELSE/);
  t.notMatch(candidateSql('users', ['a'], 5, [], { b: () => 'SHAPE' }), /SHAPE/, 'only for its own column');
});
