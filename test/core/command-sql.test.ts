// The `sql` command kind through the one psql builder: statements on stdin, the database (default postgres) in
// PGDATABASE as one value whatever it holds, the command's shape never changed by it.
import t from 'tap';
import { describeCommand, toShell } from '../../src/core/command.js';
import { HOSTILE_NAMES, runWith, standIns } from '../fixtures/psql-standin.js';

const ARGS = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-p', '5433'];

t.test('a sql command runs psql as postgres: the database in PGDATABASE, the statements on stdin', async (t) => {
  const s = standIns();
  const run = (database?: string) => {
    const { script, stdin } = toShell({ kind: 'sql', port: 5433, database, sql: 'CREATE ROLE a;' });
    runWith(s, script, { stdin });
  };
  run();
  for (const name of HOSTILE_NAMES) run(name);
  t.same(s.runs(), ['postgres', ...HOSTILE_NAMES].map((database) => ({ program: 'psql', database, pgport: '', stdin: 'CREATE ROLE a;', args: ARGS })));
  t.equal(describeCommand({ kind: 'sql', port: 5433, sql: 'CREATE ROLE a;\n' }), 'psql -p 5433 -d postgres: CREATE ROLE a;');
});

t.test('the SQL is never on the command line', async (t) => {
  const { script, stdin } = toShell({ kind: 'sql', port: 5432, database: 'app', sql: "ALTER ROLE a PASSWORD 'SCRAM-SHA-256$4096:x';" });
  t.notMatch(script, /SCRAM|ALTER/);
  t.match(stdin, /SCRAM/);
});
