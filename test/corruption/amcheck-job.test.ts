// The amcheck job's body run for real (POSIX sh, as root) against a throwaway cluster on this machine: a clean cluster
// is `ok`, a cluster whose index page was overwritten is `corrupt` (exit 3) naming the index, a missing pg_amcheck is
// `failed`. Skips without root or PostgreSQL 15.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseAmcheckReport, parseAmcheckStatus } from '../../src/facts/integrity.js';

const BIN = '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;
if (!root || !existsSync(`${BIN}/pg_amcheck`)) {
  t.plan(0, 'needs root and PostgreSQL 15');
} else {
  const work = mkdtempSync(join(tmpdir(), 'ic-amcheck-'));
  execFileSync('chown', ['postgres', work]);
  const data = join(work, 'data');
  const port = 5400 + Math.floor(Math.random() * 90);
  const asPg = (cmd: string) => execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { cwd: '/', encoding: 'utf8' });
  const psql = (db: string, sql: string) => asPg(`psql -X -A -t -q -h ${work} -p ${port} -d ${db} -c "${sql}"`).trim();
  const start = () => asPg(`${BIN}/pg_ctl -D ${data} -l ${work}/log -o '-p ${port} -k ${work} -c listen_addresses=' -w start >/dev/null`);
  const stop = () => asPg(`${BIN}/pg_ctl -D ${data} -w stop >/dev/null`);
  const body = readFileSync(new URL('../../src/corruption/amcheck.sh', import.meta.url), 'utf8');
  const job = (version = '15') => {
    const file = join(work, 'job.sh');
    writeFileSync(file, `#!/bin/sh\nHOST='db-1'\nPORT='${port}'\nVERSION='${version}'\nHEAPALLINDEXED='1'\nDIR='${work}/state'\nSTATUS='${work}/state/amcheck.status'\nREPORT='${work}/state/amcheck.out'\nALERT='cat >/dev/null; printf "%s\\\\n" >> ${work}/alerts'\n${body}`);
    chmodSync(file, 0o755);
    const r = spawnSync('sh', [file], { env: { ...process.env, PGHOST: work }, encoding: 'utf8' });
    return { code: r.status, status: parseAmcheckStatus(readFileSync(`${work}/state/amcheck.status`, 'utf8')), report: readFileSync(`${work}/state/amcheck.out`, 'utf8') };
  };
  t.teardown(() => {
    try { stop(); } catch { /* already down */ }
    rmSync(work, { recursive: true, force: true });
  });

  asPg(`${BIN}/initdb -k -A trust -D ${data} >/dev/null`);
  start();
  psql('postgres', 'CREATE DATABASE app');
  psql('app', "CREATE TABLE orders (id int PRIMARY KEY, v text); INSERT INTO orders SELECT g, repeat('x', 50) FROM generate_series(1, 5000) g; CHECKPOINT");

  t.test('a clean cluster: ok, exit 0, no alert', async (t) => {
    const r = job();
    t.equal(r.code, 0, r.report);
    t.notOk(existsSync(`${work}/alerts`));
    t.equal(r.status?.state, 'ok');
    t.same(parseAmcheckReport(r.report), []);
  });

  t.test('an overwritten index page: corrupt, exit 3, the index named', async (t) => {
    const idx = join(data, psql('app', "SELECT pg_relation_filepath('orders_pkey')"));
    stop();
    const fd = openSync(idx, 'r+');
    writeSync(fd, Buffer.from('CORRUPTCORRUPTCORRUPT'), 0, 21, 8192 * 1 + 300);
    closeSync(fd);
    start();
    const r = job();
    t.equal(r.code, 3);
    t.equal(r.status?.state, 'corrupt');
    t.equal(r.status?.exit, 2);
    t.match(parseAmcheckReport(r.report), [{ kind: 'index', relation: 'app.public.orders_pkey', block: 1 }]);
    t.match(readFileSync(`${work}/alerts`, 'utf8'), /^ironclad amcheck of db-1: corrupt: btree index "app\.public\.orders_pkey": .*\(report: /, 'the alert names the index');
  });

  t.test('no pg_amcheck for the version: failed, exit 1, the reason in the report', async (t) => {
    const r = job('99');
    t.equal(r.code, 1);
    t.equal(r.status?.state, 'failed');
    t.match(r.report, /not installed/);
  });
}
