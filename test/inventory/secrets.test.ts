// Secret references of an inventory: resolved only when asked, a clear UserError when missing, masked once known.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { describeRef, isSecretRef, mask, MASK, resolveSecret } from '../../src/core/secrets.js';
import { loadInventory } from '../../src/inventory/load.js';
import { findHost } from '../../src/inventory/types.js';
import { validDir } from '../fixtures/inventory/harness.js';

/** The UserError thrown by fn (fails the test when there is none). */
function userError(t: Test, fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    t.ok(e instanceof UserError, 'a UserError (exit 2)');
    return e as UserError;
  }
  t.fail('expected a UserError');
  return new UserError('none');
}

t.test('a missing environment variable is a clear error saying how to fix it', async (t) => {
  for (const env of [{}, { APP_DB_PASSWORD: '' }]) {
    const e = userError(t, () => resolveSecret({ env: 'APP_DB_PASSWORD' }, '/tmp', env));
    t.equal(e.exitCode, 2);
    t.equal(e.message, 'secret env APP_DB_PASSWORD is not set');
    t.match(e.hint ?? '', 'export APP_DB_PASSWORD=');
    t.notMatch(e.stack?.split('\n')[0] ?? '', /at /, 'the message itself carries no trace');
  }
});

t.test('a missing or empty secret file is a clear error naming the file', async (t) => {
  const dir = t.testdir({ 'empty.pw': '' });
  const missing = userError(t, () => resolveSecret({ file: './nope.pw' }, dir, {}));
  t.match(missing.message, 'secret file ./nope.pw cannot be read (ENOENT)');
  t.match(missing.hint ?? '', join(dir, 'nope.pw'), 'relative to the base folder');
  t.match(missing.hint ?? '', 'chmod 600');
  const empty = userError(t, () => resolveSecret({ file: 'empty.pw' }, dir, {}));
  t.match(empty.message, 'secret file empty.pw is empty');
});

t.test('a resolved value is masked in every later output', async (t) => {
  const value = resolveSecret({ env: 'IRONCLAD_TEST_SECRET' }, '/tmp', { IRONCLAD_TEST_SECRET: 'correct-horse-battery' });
  t.equal(value, 'correct-horse-battery');
  t.equal(mask('PGPASSWORD=correct-horse-battery psql -c "select 1"'), `PGPASSWORD=${MASK} psql -c "select 1"`);
  t.equal(mask('twice: correct-horse-battery correct-horse-battery'), `twice: ${MASK} ${MASK}`);
  t.equal(mask('nothing secret here'), 'nothing secret here');

  const dir = t.testdir({ 'db.pw': 'file-held-secret\n' });
  t.equal(resolveSecret({ file: 'db.pw' }, dir, {}), 'file-held-secret', 'trailing newline dropped');
  t.equal(mask("ALTER ROLE app PASSWORD 'file-held-secret'"), `ALTER ROLE app PASSWORD '${MASK}'`);
});

t.test("an inventory's references resolve relative to its folder", async (t) => {
  const inv = loadInventory(join(validDir, 'full.yaml'));
  const roles = findHost(inv, 'db-prod')!.postgres!.roles!;
  const app = roles.find((r) => r.name === 'app')!.password!;
  const backup = roles.find((r) => r.name === 'backup_user')!.password!;
  t.ok(isSecretRef(app) && isSecretRef(backup));
  t.equal(describeRef(app), 'env APP_DB_PASSWORD');
  t.equal(resolveSecret(app, inv.dir, { APP_DB_PASSWORD: 'from-the-env-123' }), 'from-the-env-123');
  t.equal(mask('password from-the-env-123'), `password ${MASK}`);
  const e = userError(t, () => resolveSecret(backup, inv.dir, {}));
  t.match(e.hint ?? '', join(validDir, 'secrets/backup.pw'));
});

t.test('isSecretRef', async (t) => {
  const cases: [unknown, boolean][] = [
    [{ env: 'A' }, true],
    [{ file: './a' }, true],
    [{ env: 5 }, false],
    [{ env: 'A', file: 'b' }, false],
    ['hunter2', false],
    [null, false],
  ];
  for (const [v, ok] of cases) t.equal(isSecretRef(v), ok, JSON.stringify(v));
});
