import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { corruptionFact, fileNode, logTime, parseCorruption, parseLogLine } from '../../src/facts/corruption.js';
import { HOSTILE_NAMES, TAB_ARGS_5433, runWith, standIns } from '../fixtures/psql-standin.js';

t.test('log lines as PostgreSQL 15 writes them (Debian prefix)', async (t) => {
  const cases: [string, unknown][] = [
    ['2026-12-02 21:43:04.795 UTC [9055] WARNING:  page verification failed, calculated checksum 17649 but expected 33508', { time: '2026-12-02T21:43:04Z', kind: 'checksum', block: null, path: null }],
    ['2026-12-02 21:43:04.795 UTC [9055] postgres@app ERROR:  invalid page in block 1 of relation base/16384/16385', { time: '2026-12-02T21:43:04Z', kind: 'invalid_page', block: 1, path: 'base/16384/16385' }],
    ['2026-12-02 22:00:00 CET [1] ERROR:  could not read block 131072 in file "base/16384/16385.1": read only 0 of 8192 bytes', { time: null, kind: 'read_failed', block: 131072, path: 'base/16384/16385.1' }],
    ['2026-12-02 23:00:00.1 +01 [1] WARNING:  checksum verification failed in file "./base/1/1249", block 3: calculated 1 but expected 2', { time: '2026-12-02T22:00:00Z', kind: 'checksum', block: 3, path: 'base/1/1249' }],
    ['2026-12-02 21:43:04.795 UTC [9055] LOG:  database system is ready to accept connections', null],
  ];
  for (const [line, want] of cases) t.same(parseLogLine(line), want, line.slice(30, 80));
  t.equal(logTime('no prefix here'), null);
});

t.test('file nodes of relation paths', async (t) => {
  t.same(fileNode('base/16384/16385'), { dboid: 16384, filenode: 16385 });
  t.same(fileNode('base/16384/16385.2'), { dboid: 16384, filenode: 16385 });
  t.equal(fileNode('global/1262'), null, 'shared catalogs have no database');
  t.equal(fileNode('base/16384/t3_16385'), null, 'temporary relations');
  t.equal(fileNode(null), null);
});

t.test('the fact from its parts: counters, log, relations (names are data)', async (t) => {
  const parts = [
    { name: 'stats 15 main', text: '{"database" : null, "failures" : 0, "last" : null}\n{"database" : "app", "failures" : 2, "last" : "2026-12-02T21:43:04Z"}\n{"database" : "a\\nb", "failures" : null, "last" : null}\n' },
    { name: 'log 15 main', text: '2026-12-02 21:43:04.795 UTC [9055] ERROR:  invalid page in block 1 of relation base/16384/16385\n' },
    { name: 'rel 15 main', text: '{"dboid" : 16384, "filenode" : 16385, "database" : "app", "schema" : "public", "relation" : "or\\"ders", "kind" : "r"}\nnot json\n' },
    { name: 'stats 16 other', text: '' },
  ];
  const [c, other] = parseCorruption({ parts });
  t.same(c.counters, [{ database: null, failures: 0, last: null }, { database: 'app', failures: 2, last: '2026-12-02T21:43:04Z' }, { database: 'a\nb', failures: null, last: null }]);
  t.same(c.log, [{ time: '2026-12-02T21:43:04Z', kind: 'invalid_page', block: 1, path: 'base/16384/16385' }]);
  t.same(c.relations, [{ dboid: 16384, filenode: 16385, database: 'app', schema: 'public', relation: 'or"ders', kind: 'r' }]);
  t.same(other, { version: 16, cluster: 'other', counters: [], log: [], relations: [] });
});

t.test("the fact's psql runs: a database the host names (any text) reaches psql as PGDATABASE only, the oids as -v values", async (t) => {
  const TAB = TAB_ARGS_5433;
  for (const name of HOSTILE_NAMES) {
    const s = standIns();
    const log = join(s.log, '..', 'postgresql.log');
    writeFileSync(log, '2026-12-02 21:43:04.795 UTC [9055] ERROR:  invalid page in block 1 of relation base/16384/16385\n');
    writeFileSync(join(s.bin, 'pg_lsclusters'), `#!/bin/sh\necho '15 main 5433 online postgres /var/lib/postgresql/15/main ${log}'\n`, { mode: 0o755 });
    writeFileSync(join(s.bin, 'runuser'), '#!/bin/sh\n[ "$1 $2 $3" = "-u postgres --" ] || exit 9\nshift 3\nexec "$@"\n', { mode: 0o755 });
    const reply = 'case "$sql" in *"FROM pg_database WHERE oid"*) printf "%s\\n" "$HOSTILE";; *pg_filenode_relation*) echo "{\\"rel\\":1}";; esac';
    const out = runWith(s, `ic_part() { printf '@@part %s\\n' "$1"; }\n${corruptionFact.command}`, { env: { STANDIN_REPLY: reply, HOSTILE: name } });
    const runs = s.runs();
    t.same(runs.map((r) => [r.database, r.args]), [
      ['postgres', TAB],
      ['postgres', [...TAB, '-v', 'd=16384']],
      ...(name.includes('\n') ? [] : [[name, [...TAB, '-v', 'd=16384', '-v', 'f=16385']]]),
    ], JSON.stringify(name));
    t.match(runs[2]?.stdin ?? '', name.includes('\n') ? '' : /pg_filenode_relation\(0, :'f'::oid\)/);
    if (!name.includes('\n')) t.match(out, /@@part rel 15 main\n\{"rel":1\}\n/);
  }
});
