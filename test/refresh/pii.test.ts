import t from 'tap';
import { luhn, redact, scanValue } from '../../src/refresh/pii.js';

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
