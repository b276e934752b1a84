import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseCsv, psqlInvocation, sqlRows, type SqlTarget } from '../../src/connectors/sql.js';
import type { Connector, RunResult } from '../../src/connectors/types.js';
import { HOSTILE_NAMES } from '../fixtures/psql-standin.js';
import { tempDir } from '../fixtures/tmp.js';

t.test("psql's CSV read back field by field: a hostile name cannot split a field or start a row", async (t) => {
  const cases: [string, string[][]][] = [
    ['', []],
    ['1,2\n3,4\n', [['1', '2'], ['3', '4']]],
    ['\n', [['']]], // one NULL (or '')
    [',,\n', [['', '', '']]],
    ['"a,b","x\ny","q""z"\n', [['a,b', 'x\ny', 'q"z']]],
    ['"a\tb",c\n', [['a\tb', 'c']]],
    ['"line1\r\nline2",x\r\n', [['line1\r\nline2', 'x']]],
    ['"",""\n', [['', '']]],
    ['@@counts,2,"{""a"": 1}"\n', [['@@counts', '2', '{"a": 1}']]],
    ['"\\."\n', [['\\.']]],
    ['1\n2', [['1'], ['2']]], // no newline at the end
    ['a\tb,c\n', [['a\tb', 'c']]], // a tab needs no quotes
  ];
  for (const [text, rows] of cases) t.same(parseCsv(text), rows, JSON.stringify(text));
  t.throws(() => parseCsv('"open\n'), /unterminated/);
  t.throws(() => parseCsv('"a"b\n'), /after its closing quote/);
});

/** Run an invocation's shell text here, with `su` and `psql` stand-ins that print what psql would have been given. */
function runHere(inv: { script: string; stdin: string }): { args: string[]; database: string; password: string; stdin: string } {
  const bin = tempDir('ironclad-psql-');
  writeFileSync(join(bin, 'su'), '#!/bin/sh\n[ "$1" = postgres ] && [ "$4" = -c ] || exit 9\nexec /bin/sh -c "$5"\n', { mode: 0o755 });
  writeFileSync(join(bin, 'psql'), '#!/bin/sh\nprintf \'%s\\0\' "$PGDATABASE" "${PGPASSWORD-}" "$(cat)" "$@"\n', { mode: 0o755 });
  const out = execFileSync('/bin/sh', ['-c', inv.script], { input: inv.stdin, env: { PATH: `${bin}:/usr/bin:/bin` } }).toString().split('\0');
  return { database: out[0], password: out[1], stdin: out[2], args: out.slice(3, -1) };
}

t.test('psql is run with no psqlrc, stopping at the first error, the database in PGDATABASE, SQL and password on stdin only', async (t) => {
  const hostile = "app'; x=1 \"$(id)\"";
  const su = runHere(psqlInvocation({ database: hostile, as: { osUser: 'postgres', port: 5433 } }, 'SELECT 1;'));
  t.same(su, { database: hostile, password: '', stdin: 'SELECT 1;', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--csv', '-t', '-p', '5433'] });
  const login = { role: 'ironclad_app', password: 's3cret', address: '127.0.0.1', port: 5433 };
  const inv = psqlInvocation({ database: 'app__incoming', as: { login } }, 'SELECT 2;');
  t.notMatch(inv.script, /s3cret/, 'the password never on a command line');
  t.same(runHere(inv), { database: 'app__incoming', password: 's3cret', stdin: 'SELECT 2;', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--csv', '-t', '-h', '127.0.0.1', '-p', '5433', '-U', 'ironclad_app'] });
  t.throws(() => psqlInvocation({ database: 'x', as: { osUser: 'postgres -c id', port: 1 } }, ''), /not an OS account name/);
});

/** A connector that answers every run with `result` and records what it was asked. */
function fake(result: Partial<RunResult>): Connector & { seen: { script: string; stdin?: string | Buffer }[] } {
  const seen: { script: string; stdin?: string | Buffer }[] = [];
  return {
    host: 'db1',
    seen,
    run: async (script, opts) => (seen.push({ script, stdin: opts?.stdin }), { host: 'db1', command: script, code: 0, stdout: '', stderr: '', durationMs: 1, ...result }),
    put: async () => undefined,
    get: async () => Buffer.from(''),
    hold: async () => undefined,
    close: async () => undefined,
  };
}

t.test('sqlRows: rows parsed; a failure names host, database, account, exit code and the error lines, never the password', async (t) => {
  const target: SqlTarget = { host: 'db1', database: 'app', as: { osUser: 'postgres', port: 5432 } };
  const ok = fake({ stdout: 'x,"a\nb"\n' });
  t.same(await sqlRows(ok, target, 'SELECT 1;'), [['x', 'a\nb']]);
  t.equal(ok.seen[0].stdin, 'SELECT 1;');
  const bad = fake({ code: 3, stderr: 'psql:<stdin>:1: ERROR:  relation "nope" does not exist\nLINE 1: SELECT * FROM nope;\n' });
  await t.rejects(sqlRows(bad, target, 'SELECT * FROM nope;'), /^db1: SQL on app as postgres failed \(exit 3\): see below\n {2}\| psql:<stdin>:1: ERROR: {2}relation "nope"/);
  const login = { role: 'ironclad_app', password: 'pw-9f8e', address: '127.0.0.1', port: 5432 };
  const refused = fake({ code: 2, stderr: 'psql: error: connection to server failed: FATAL:  password authentication failed\n' });
  const e = await sqlRows(refused, { ...target, as: { login } }, 'SELECT 1;').catch((e: Error) => e);
  t.match((e as Error).message, /^db1: SQL on app as ironclad_app failed \(exit 2\): psql: error: connection/);
  t.notMatch((e as Error).message, /pw-9f8e/);
});

t.test('every hostile database name arrives as PGDATABASE alone, as an OS account and as a login', async (t) => {
  const login = { role: 'ironclad_app', password: 's3cret', address: '127.0.0.1', port: 5433 };
  for (const name of HOSTILE_NAMES) {
    const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--csv', '-t'];
    t.same(runHere(psqlInvocation({ database: name, as: { osUser: 'postgres', port: 5433 } }, 'SELECT 1;')), { database: name, password: '', stdin: 'SELECT 1;', args: [...args, '-p', '5433'] }, JSON.stringify(name));
    t.same(runHere(psqlInvocation({ database: name, as: { login } }, 'SELECT 1;')), { database: name, password: 's3cret', stdin: 'SELECT 1;', args: [...args, '-h', '127.0.0.1', '-p', '5433', '-U', 'ironclad_app'] }, JSON.stringify(name));
  }
});
