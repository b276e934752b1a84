// The row counts: each row counted once (partitions, sub-partitions, inheritance children: their own rows; a
// partitioned table not listed), run for real on a throwaway cluster with hostile names; a backup counted before (a
// partition's rows again in each parent) compared with a database's counts rebuilt as it counted them.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { compareCounts } from '../../src/backup/drill.js';
import { countingOf, countsAs, countSql, parseCounted, type Counted } from '../../src/backup/counts.js';

const found: Counted = {
  tables: 3, rows: 26, parentsRows: 55,
  counts: { 'public.ev_b': 11, 'a"b.ev, {1}': 9, 'public.kid': 2 },
  ancestors: { 'public.ev_b': ['public.ev'], 'a"b.ev, {1}': ['public.ev', 'public.ev_a'], 'public.kid': ['public.par'] },
};

t.test('a backup counted each row once is compared as found; one counted before, rebuilt as it counted', async (t) => {
  t.equal(countingOf({ counting: 'leaf' }), 'leaf');
  for (const before of [null, undefined, {}, { counting: 'x' }]) t.equal(countingOf(before), 'parents', JSON.stringify(before));
  t.same(countsAs('leaf', found), found.counts);
  t.same(countsAs('parents', found), { 'public.ev_b': 11, 'a"b.ev, {1}': 9, 'public.kid': 2, 'public.ev': 20, 'public.ev_a': 9, 'public.par': 2 });
  const before = { 'public.ev': 20, 'public.ev_a': 9, 'public.ev_b': 11, 'a"b.ev, {1}': 9, 'public.kid': 2, 'public.par': 2 };
  t.same(compareCounts(before, countsAs('parents', found)), [], 'an old backup still passes its drill');
  t.match(compareCounts(before, countsAs('leaf', found)), [/"public.ev" is not in the restored database/, /"public.ev_a" is not/, /"public.par" is not/]);
});

t.test('the query line: five fields after the tag (older lines: four)', async (t) => {
  t.equal(parseCounted(undefined), null);
  t.equal(parseCounted(['@@server', '1']), null);
  t.same(parseCounted(['@@counts', '1', '2', '{"public.a":2}']), { tables: 1, rows: 2, counts: { 'public.a': 2 }, parentsRows: 2, ancestors: {} });
  t.same(parseCounted(['@@counts', '1', '2', '{"public.a\\tb" : 2}', '4', '{"public.a\\tb" : ["public.p"]}'])?.ancestors, { 'public.a\tb': ['public.p'] });
});

const BIN = '/usr/lib/postgresql/15/bin';
if (process.getuid?.() !== 0 || !existsSync(`${BIN}/initdb`)) t.test('the query on a real cluster', { skip: 'needs root and PostgreSQL 15' }, async () => {});
else {
  t.test('on a real cluster: every row once, hostile names, partitions of partitions, inheritance', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'ic-counts-'));
    execFileSync('chown', ['postgres', work]);
    const data = join(work, 'data');
    const port = 5400 + Math.floor(Math.random() * 90);
    const asPg = (cmd: string, input?: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8', input });
    const psql = (sql: string) => asPg(`psql -X -A -t -q -v ON_ERROR_STOP=1 -F '\t' -h ${work} -p ${port} -d app`, sql).trim();
    t.teardown(() => {
      try { asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`); } catch { /* down */ }
      rmSync(work, { recursive: true, force: true });
    });
    asPg(`${BIN}/initdb -A trust -D ${data} >/dev/null && ${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
    asPg(`psql -X -q -h ${work} -p ${port} -d postgres -c 'CREATE DATABASE app'`);
    psql(`CREATE SCHEMA "a""b"; CREATE TABLE plain (id int); INSERT INTO plain SELECT generate_series(1, 3);
      CREATE TABLE ev (id int, k int) PARTITION BY RANGE (id);
      CREATE TABLE ev_a PARTITION OF ev FOR VALUES FROM (0) TO (10) PARTITION BY LIST (k);
      CREATE TABLE "a""b"."ev, {1}" PARTITION OF ev_a DEFAULT;
      CREATE TABLE ev_b PARTITION OF ev FOR VALUES FROM (10) TO (100);
      INSERT INTO ev SELECT g, g FROM generate_series(1, 20) g;
      CREATE TABLE par (id int); INSERT INTO par VALUES (1); CREATE TABLE kid () INHERITS (par); INSERT INTO kid VALUES (2), (3);
      CREATE TABLE "x'); DROP TABLE plain; --" (id int); INSERT INTO "x'); DROP TABLE plain; --" VALUES (1);`);
    const file = join(work, 'counts.sql');
    writeFileSync(file, countSql());
    chmodSync(file, 0o644);
    const line = psql(`\\i ${file}`).split('\n').find((l) => l.startsWith('@@counts\t'));
    const c = parseCounted(line?.split('\t'));
    t.ok(c, line ?? 'no line');
    t.same(c!.counts, { 'public.plain': 3, 'public.ev_b': 11, 'a"b.ev, {1}': 9, 'public.par': 1, 'public.kid': 2, "public.x'); DROP TABLE plain; --": 1 }, 'leaf tables only, each its own rows');
    const real = Number(psql('SELECT (SELECT count(*) FROM plain) + (SELECT count(*) FROM ev) + (SELECT count(*) FROM par) + 1'));
    t.equal(c!.rows, real, 'the total is the real number of rows');
    t.equal(c!.tables, 6);
    // as counted before: plain 3, ev 20, ev_a 9, "ev, {1}" 9, ev_b 11, par 3 (with kid's), kid 2, the hostile one 1
    t.equal(c!.parentsRows, 58, 'the total as counted before');
    t.same(countsAs('parents', c!), { 'public.plain': 3, 'public.ev': 20, 'public.ev_a': 9, 'a"b.ev, {1}': 9, 'public.ev_b': 11, 'public.par': 3, 'public.kid': 2, "public.x'); DROP TABLE plain; --": 1 }, 'rebuilt as before');
    t.equal(psql('SELECT count(*) FROM plain'), '3', 'no name ran as SQL');
  });
}
