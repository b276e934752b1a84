import t from 'tap';
import { rowMismatches } from '../../src/refresh/check.js';
import { bindAccounts, fakeExpression, scrubSql } from '../../src/refresh/scrub.js';
import { renameSql } from '../../src/refresh/swap.js';

t.test('scrubSql: one transaction, truncates, grouped updates, keep_where bound to the accounts', async (t) => {
  const sql = scrubSql(
    {
      version: 1,
      tables: {
        users: { email: { fake: 'email', keep_where: 'email = ANY(:accounts)' }, full_name: { fake: 'name' }, phone: { set: null }, password_hash: { set: "it's" } },
        sessions: 'truncate',
      },
    },
    ['dev@example.com', "o'brien@example.com"],
  ).split('\n');
  t.equal(sql[0], 'BEGIN;');
  t.equal(sql.at(-1), 'COMMIT;');
  t.ok(sql.includes('TRUNCATE TABLE "sessions";'));
  const keep = sql.find((l) => l.startsWith('UPDATE "users" SET "email"'))!;
  t.match(keep, /WHERE NOT coalesce\(\(email = ANY\(ARRAY\['dev@example\.com', 'o''brien@example\.com'\]::text\[\]\)\), false\);$/);
  const rest = sql.find((l) => l.startsWith('UPDATE "users" SET "full_name"'))!;
  t.match(rest, /"phone" = NULL, "password_hash" = 'it''s';$/);
  t.notMatch(rest, /WHERE/);
});

t.test('fakes keep NULL and are expressions of the value only (deterministic)', async (t) => {
  for (const kind of ['email', 'name', 'phone', 'address', 'text', 'uuid'] as const) {
    const e = fakeExpression(kind, 'col');
    t.match(e, /^CASE WHEN "col" IS NULL THEN NULL ELSE /, kind);
    t.notMatch(e, /random|now\(\)|nextval/, `${kind} is deterministic`);
  }
  t.equal(bindAccounts('x = ANY(:accounts) AND :accountsx', []), 'x = ANY(ARRAY[]::text[]) AND :accountsx');
});

t.test('renameSql closes sessions and renames inside one transaction', async (t) => {
  const sql = renameSql([['app', 'app__previous'], ['app__incoming', 'app']], ['app', 'app__incoming']);
  t.match(sql, /ALTER DATABASE "app" ALLOW_CONNECTIONS false;[\s\S]*pg_terminate_backend[\s\S]*BEGIN;\nALTER DATABASE "app" RENAME TO "app__previous";\nALTER DATABASE "app__incoming" RENAME TO "app";\nCOMMIT;$/);
});

t.test('rowMismatches', async (t) => {
  t.same(rowMismatches({ 'public.a': 1, 'public.b': 2 }, { 'public.a': 1, 'public.b': 2 }), []);
  t.same(rowMismatches({ 'public.a': 1, 'public.b': 2 }, { 'public.a': 0, 'public.c': 5 }), [
    'public.a: 0 rows restored, the manifest says 1',
    'public.b: missing rows restored, the manifest says 2',
    'public.c: 5 rows restored, the manifest says none',
  ]);
});
