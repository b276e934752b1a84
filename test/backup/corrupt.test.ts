// The backup job's corruption check (src/backup/corrupt.sh), run for real in sh with the server's messages as
// PostgreSQL 15 writes them; psql (through su) and the job's finish are stand-ins that record what they were given.
// The real thing on a lab cluster with checksums: test/e2e/corruption-backup.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../fixtures/tmp.js';

const corrupt = readFileSync(new URL('../../src/backup/corrupt.sh', import.meta.url), 'utf8');
const job = readFileSync(new URL('../../src/backup/job-base.sh', import.meta.url), 'utf8');
const jsonStr = job.slice(job.indexOf('json_str() {'), job.indexOf('\n}\n', job.indexOf('json_str() {')) + 3);

/** Run `failed MESSAGE` with these error files; `relation` is what the stand-in psql answers. */
function failed(files: { session?: string; dump?: string; last?: string; good?: string; mark?: string }, relation = '') {
  const work = tempDir('ironclad-corrupt-');
  const dir = join(work, 'up1');
  mkdirSync(dir);
  if (files.session !== undefined) writeFileSync(join(dir, '.session.err'), files.session);
  if (files.dump !== undefined) writeFileSync(join(dir, '.dump.err'), files.dump);
  if (files.last !== undefined) writeFileSync(join(dir, '.last'), files.last);
  if (files.good !== undefined) writeFileSync(join(work, '.good.app'), files.good);
  if (files.mark !== undefined) writeFileSync(join(work, '.corrupt.app'), files.mark);
  const script = `${jsonStr}
now() { echo 2026-12-02T22:00:00Z; }
discard() { echo discarded >> "$WORK/calls"; }
finish() { printf '%s\\n' "$1" > "$WORK/code"; printf '%s' "$2" > "$WORK/message"; printf '%s' "\${STATUS_EXTRA:-}" > "$WORK/extra"; exit "$1"; }
su() { cat > "$WORK/sql"; shift 6; printf '%s\\n' "$1" "$2" "$3" > "$WORK/args"; printf '%s' "$4" > "$WORK/bin"; printf '%s\\n' "$RELATION"; }
${corrupt}
WORK=$1 dir=$1/up1 db=app PORT=5432 asking='' PGBIN=/usr/lib/postgresql/15/bin
failed "app: pg_dump failed: the plain message"
`;
  const r = spawnSync('sh', ['-c', script, 'sh', work], { encoding: 'utf8', env: { PATH: process.env.PATH!, RELATION: relation } });
  const read = (f: string) => {
    try {
      return readFileSync(join(work, f), 'utf8');
    } catch {
      return '';
    }
  };
  return { status: r.status, stderr: r.stderr, code: read('code').trim(), message: read('message'), extra: read('extra'), args: read('args').replace(/\n$/, '').split('\n'), bin: read('bin'), sql: read('sql'), calls: read('calls'), mark: read('.corrupt.app') };
}

const LAST = '{"id":"20261202T021500Z-db-prod-app","host":"db-prod","database":"app","upload":"u","sums":"00","received_at":"2026-12-02T02:15:07Z","received_epoch":1796177707,"bytes":1,"manifest":{"format":2,"started_at":"2099-01-01T00:00:00Z"}}\n';

t.test('a failure that says nothing of corruption stays a failure (exit 1, its own message)', async (t) => {
  const r = failed({ session: '', dump: 'pg_dump: error: connection to server on socket failed: No such file or directory\n' });
  t.equal(r.code, '1');
  t.equal(r.message, 'app: pg_dump failed: the plain message');
  t.equal(r.calls, '', 'nothing discarded by the check itself');
});

t.test('the counting session died on a damaged page and pg_dump lost its snapshot: the page is named, not the snapshot', async (t) => {
  const r = failed(
    {
      session: 'psql:<stdin>:9: WARNING:  page verification failed, calculated checksum 20113 but expected 48310\npsql:<stdin>:9: ERROR:  invalid page in block 1 of relation base/16384/16397\n',
      dump: 'pg_dump: error: query failed: ERROR:  invalid snapshot identifier: "00000003-0000001B-1"\n',
      last: LAST,
    },
    'public."orders $(touch x)"',
  );
  t.equal(r.code, '3', 'refused');
  t.equal(r.message, 'app: CORRUPTION: the dump hit damaged data in public."orders $(touch x)", block 1 (invalid page in block 1 of relation base/16384/16397); refusing it. First seen 2026-12-02T22:00:00Z; the last backup committed before: 20261202T021500Z-db-prod-app (committed 2026-12-02T02:15:07Z)');
  t.same(r.args, ['0', '16397', ''], 'psql asked by numbers only: tablespace 0 (the default), the file node');
  t.equal(r.bin, '/usr/lib/postgresql/15/bin/psql', "the cluster's own psql, an argument of su's shell");
  t.match(r.sql, /pg_filenode_relation\(/);
  t.match(r.sql, /format\('%I\.%I', n\.nspname, c\.relname\)/, 'the name quoted by PostgreSQL');
  t.same(JSON.parse(`{"x":1${r.extra}}`).corruption, { database: 'app', relation: 'public."orders $(touch x)"', block: 1, error: 'invalid page in block 1 of relation base/16384/16397', first_seen: '2026-12-02T22:00:00Z', last_good_backup: '20261202T021500Z-db-prod-app' });
  t.equal(r.calls, 'discarded\n', 'its upload discarded');
  t.equal(r.mark, '2026-12-02T22:00:00Z 20261202T021500Z-db-prod-app 2026-12-02T02:15:07Z\n', 'first sighting recorded');
});

t.test('pg_dump hit it itself: a read error in a segment file, a table in a tablespace', async (t) => {
  const r = failed({ session: '', dump: 'pg_dump: error: Dumping the contents of table "big" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: ERROR:  could not read block 140000 in file "pg_tblspc/16500/PG_15_202209061/16384/16401.1": read only 0 of 8192 bytes\n' }, 'public.big');
  t.equal(r.code, '3');
  t.same(r.args, ['16500', '16401', ''], 'the tablespace and the file node without its segment');
  t.match(r.message, /damaged data in public\.big, block 140000 \(could not read block 140000 in file/);
  t.match(r.message, /no backup of it was committed before$/, 'no store answer and no record of a good backup: said so');
});

t.test('TOAST: the table that owns the damaged chunk; the last good backup from the host\'s own record', async (t) => {
  const r = failed({ session: '', dump: 'pg_dump: detail: Error message from server: ERROR:  missing chunk number 0 for toast value 16420 in pg_toast_16397\n', good: '20261201T021500Z-db-prod-app 2026-12-01T02:15:09Z\n' }, 'public.docs');
  t.equal(r.code, '3');
  t.same(r.args, ['0', '0', 'pg_toast_16397']);
  t.match(r.message, /damaged data in public\.docs \(missing chunk number 0 for toast value 16420 in pg_toast_16397\)/);
  t.match(r.message, /the last backup committed before: 20261201T021500Z-db-prod-app \(committed 2026-12-01T02:15:09Z\)$/);
});

t.test('seen before: the first sighting and the backup before it are kept, whatever the store says now', async (t) => {
  const r = failed({ session: 'psql:<stdin>:9: ERROR:  invalid page in block 3 of relation base/16384/16397\n', last: LAST, mark: '2026-11-30T02:15:00Z 20261129T021500Z-db-prod-app 2026-11-29T02:15:04Z\n' }, 'public.orders');
  t.match(r.message, /First seen 2026-11-30T02:15:00Z; the last backup committed before: 20261129T021500Z-db-prod-app \(committed 2026-11-29T02:15:04Z\)$/);
});

t.test('a hostile message cannot break the status file or reach a shell: control characters dropped, numbers only to psql', async (t) => {
  const r = failed({ session: 'psql:<stdin>:9: ERROR:  invalid page in block 1 of relation base/16384/$(reboot)\n' }, 'public."a\tb"');
  t.equal(r.code, '3');
  t.same(r.args, ['0', '0', ''], 'a file node that is not a number is not asked');
  t.doesNotThrow(() => JSON.parse(`{"x":1${r.extra}}`), 'the status stays JSON');
});

t.test('a backup that succeeds again: recorded as the last good one, and the corruption seen before is behind it', async (t) => {
  const work = tempDir('ironclad-corrupt-');
  writeFileSync(join(work, '.corrupt.app'), '2026-11-30T02:15:00Z 20261129T021500Z-db-prod-app 2026-11-29T02:15:04Z\n');
  const r = spawnSync('sh', ['-c', `now() { echo 2026-12-03T02:15:09Z; }\n${corrupt}\nWORK=$1\ngood app 20261203T021500Z-db-prod-app`, 'sh', work], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(readFileSync(join(work, '.good.app'), 'utf8'), '20261203T021500Z-db-prod-app 2026-12-03T02:15:09Z\n');
  t.throws(() => readFileSync(join(work, '.corrupt.app')), 'the first sighting is dropped');
});
