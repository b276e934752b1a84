import t from 'tap';
import { candidateSql, harmlessPattern, luhn, redact, scanValue } from '../../src/refresh/pii.js';

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
  ];
  for (const [value, kinds] of cases) t.same(scanValue(value, allowed).map((h) => h.kind), kinds, value);
});

t.test('redact hides most of a value', async (t) => {
  t.equal(redact('anna@gmail.com'), 'an**********om');
  t.equal(redact('abc'), '****');
});

t.test('candidateSql leaves out only values that are one allowed email or one fictional phone and nothing else', async (t) => {
  const allowed = ['example.com', 'qa.example.org', 'not a domain'];
  const sql = candidateSql('users', ['email', 'phone'], 10, allowed);
  const pattern = harmlessPattern(allowed);
  const candidate = (c: string) => `"${c}"::text ~ '@|[0-9][0-9 ().-]{5,}[0-9]' AND "${c}"::text !~ '${pattern}'`;
  t.equal(sql, `SELECT CASE WHEN ${candidate('email')} THEN "email"::text END, CASE WHEN ${candidate('phone')} THEN "phone"::text END FROM "users" WHERE (${candidate('email')}) OR (${candidate('phone')}) LIMIT 10`, 'one pass over the table');
  t.notMatch(sql, /not a domain/, 'a domain that is not one is not put into SQL');
  const harmless = new RegExp(pattern!); // the same POSIX expression, read as a JavaScript one
  const values = [
    'anna.smith1@example.com', 'X.Y+z@Mail.Example.COM', 'dev@qa.example.org', '555-0142', '+1 (555) 0100', '1-555-0199', // left out
    'anna@gmail.com', 'anna@badexample.com', 'a@example.com b@gmail.com', 'a@example.com +44 20 7946 0000', 'a@example.com\n',
    'a!b@gmail.com', 'call +44 20 7946 0000', 'a@example.org', 'dev@qa.example.org.evil.net', '555-0142 and 4111 1111 1111 1111', '+44 555 0100',
  ];
  for (const v of values) if (harmless.test(v)) t.same(scanValue(v, allowed), [], `left out, and scanValue finds nothing in it: ${JSON.stringify(v)}`);
  t.same(values.filter((v) => harmless.test(v)), values.slice(0, 6));
  for (const v of values.slice(6).filter((v) => v !== 'a@example.com\n')) t.not(scanValue(v, allowed).length, 0, `still sent, and a hit: ${JSON.stringify(v)}`);
  t.notMatch(harmlessPattern([]), /@/, 'no allowed domains: no email is harmless');
});
