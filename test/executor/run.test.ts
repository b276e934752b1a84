import t from 'tap';
import type { Command } from '../../src/core/command.js';
import { joinSql } from '../../src/executor/run.js';

t.test('joinSql joins consecutive statements for the same server and database, in order', async (t) => {
  const cmds: Command[] = [
    { kind: 'sh', script: 'true' },
    { kind: 'sql', port: 5432, sql: 'CREATE ROLE a;' },
    { kind: 'sql', port: 5432, database: 'postgres', sql: 'CREATE ROLE b;\n' },
    { kind: 'sql', port: 5432, sql: 'CREATE DATABASE d OWNER a;' },
    { kind: 'sql', port: 5433, sql: 'CREATE ROLE c;' },
    { kind: 'sql', port: 5433, database: 'app', sql: 'CREATE TABLE t ();' },
    { kind: 'upload', path: '/x', content: '', mode: '644' },
    { kind: 'sql', port: 5433, database: 'app', sql: 'SELECT 1;' },
  ];
  t.same(joinSql(cmds), [
    { kind: 'sh', script: 'true' },
    { kind: 'sql', port: 5432, sql: 'CREATE ROLE a;\nCREATE ROLE b;\nCREATE DATABASE d OWNER a;' },
    { kind: 'sql', port: 5433, sql: 'CREATE ROLE c;' },
    { kind: 'sql', port: 5433, database: 'app', sql: 'CREATE TABLE t ();' },
    { kind: 'upload', path: '/x', content: '', mode: '644' },
    { kind: 'sql', port: 5433, database: 'app', sql: 'SELECT 1;' },
  ]);
  t.same(cmds[1], { kind: 'sql', port: 5432, sql: 'CREATE ROLE a;' }, 'the input is not changed');
});
