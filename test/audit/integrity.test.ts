import t from 'tap';
import { judgeAmcheck, judgeChecksums, judgeDamage, judgeIntegrity, schedulePeriodMs } from '../../src/audit/integrity.js';
import type { ClusterCorruption } from '../../src/facts/corruption.js';
import type { IntegrityFact } from '../../src/facts/integrity.js';
import type { Host } from '../../src/inventory/types.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const host = (tags = ['production']): Host => ({ name: 'db-prod', address: '10.0.0.1', tags, ssh: { user: 'root', port: 22, identity_file: 'k', known_hosts: 'h' }, postgres: { version: 15, cluster: 'main', port: 5432 } });
const base: IntegrityFact = { clusters: [{ version: 15, cluster: 'main', online: true, checksums: 'on', data_bytes: 1e9 }], files: { job: '#!/bin/sh', cron: 'x', service: null, timer: null }, last: { started: '2026-11-29T03:30:00Z', finished: '2026-11-29T03:31:00Z', exit: 0, state: 'ok', seconds: 60 }, findings: [], cleared: null };
const clean: ClusterCorruption = { version: 15, cluster: 'main', counters: [{ database: 'app', failures: 0, last: null }], log: [], relations: [] };
const damaged: ClusterCorruption = {
  version: 15,
  cluster: 'main',
  counters: [{ database: 'app', failures: 1, last: '2026-12-02T10:00:01Z' }],
  log: [
    { time: '2026-12-02T10:00:01Z', kind: 'checksum', block: null, path: null },
    { time: '2026-12-02T10:00:01Z', kind: 'invalid_page', block: 1, path: 'base/16384/16385' },
  ],
  relations: [{ dboid: 16384, filenode: 16385, database: 'app', schema: 'public', relation: 'or"ders', kind: 'r' }],
};

t.test('damage: red naming database, relation (quoted) and block; ok when clean or repaired since', async (t) => {
  const [ok] = judgeDamage('db-prod', [clean], null);
  t.equal(ok.level, 'ok');
  const [bad] = judgeDamage('db-prod', [damaged], null);
  t.equal(bad.level, 'failure');
  t.equal(bad.message, 'CORRUPTION on 15/main: "public"."or""ders" in database "app" block 1 (first seen 2026-12-02T10:00:01Z)');
  t.match(bad.details, ['1 checksum failure in database "app", the last at 2026-12-02T10:00:01Z', 'damaged: "public"."or""ders" in database "app" block 1', /runbooks\/corruption\.yaml --set host=db-prod/]);
  t.equal(judgeDamage('db-prod', [damaged], '2026-12-02T11:00:00Z')[0].level, 'ok', 'a recorded repair makes earlier damage history');
  t.equal(judgeDamage('db-prod', [damaged], '2026-12-02T09:00:00Z')[0].level, 'failure', 'damage after the repair still counts');
  const gone = judgeDamage('db-prod', [{ ...damaged, relations: [], counters: null }], null)[0];
  t.match(gone.message, /file base\/16384\/16385 \(no relation has it now\) block 1/);
  t.equal(judgeDamage('db-prod', [{ ...clean, counters: [{ database: 'app', failures: 3, last: null }] }], null)[0].message, 'CORRUPTION on 15/main: database "app"', 'only the counter: the database is named');
});

t.test('checksums: ok on, warning off (with the runbook), nothing without a cluster', async (t) => {
  t.equal(judgeChecksums(host(), base)[0].level, 'ok');
  const off = judgeChecksums(host(), { ...base, clusters: [{ ...base.clusters[0], checksums: 'off' }] })[0];
  t.equal(off.level, 'warning');
  t.match(off.details.join('\n'), /enable-checksums\.yaml --set host=db-prod/);
  t.same(judgeChecksums(host(), { ...base, clusters: [] }), []);
});

t.test('amcheck: ok, corrupt, failed, overdue, never ran, not installed, not scheduled', async (t) => {
  const level = (f: IntegrityFact, h = host()) => judgeAmcheck(h, f, NOW).map((x) => `${x.level}: ${x.message}`)[0];
  t.match(level(base), /^ok: no corruption found, checked 3 d 8 h ago/);
  t.match(level({ ...base, last: { ...base.last!, state: 'corrupt', exit: 2 }, findings: [{ kind: 'index', relation: 'app.public.orders_pkey', block: 1, message: 'ERROR: invalid page' }] }), /^failure: CORRUPTION found by amcheck, .*index "app\.public\.orders_pkey"/);
  t.match(level({ ...base, last: { ...base.last!, state: 'failed', exit: 1 } }), /^warning: amcheck could not check \(exit 1\)/);
  t.match(level({ ...base, last: { ...base.last!, started: '2026-11-20T03:30:00Z', finished: '2026-11-20T03:31:00Z' } }), /^warning: the last amcheck is older than its schedule/);
  t.match(level({ ...base, last: null }), /^warning: .* has never run/);
  t.match(level({ ...base, files: { ...base.files, job: null } }), /^warning: .* is not installed/);
  t.equal(level(base, host(['staging'])), undefined, 'not scheduled for a staging host');
});

t.test('schedule periods', async (t) => {
  t.equal(schedulePeriodMs('Sun *-*-* 03:30:00'), 7 * 86400_000);
  t.equal(schedulePeriodMs('daily'), 86400_000);
  t.equal(schedulePeriodMs('*-*-01 02:00'), 31 * 86400_000);
  t.equal(schedulePeriodMs('*-*-* *:15:00'), 3600_000);
  t.equal(schedulePeriodMs('nonsense'), null);
});

t.test('a host without postgres has no integrity lines', async (t) => {
  t.same(judgeIntegrity({ ...host(), postgres: undefined }, { integrity: base, corruption: [damaged] }, NOW), []);
  t.equal(judgeIntegrity(host(), { integrity: base, corruption: [damaged] }, NOW).length, 3);
});
