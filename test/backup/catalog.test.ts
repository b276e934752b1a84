// The catalog as ironclad reads it: only what the store recorded, at the path it belongs to; legacy backups readable.
import t from 'tap';
import { parseCatalog } from '../../src/backup/catalog.js';
import { compareCounts, parseDrill } from '../../src/backup/drill.js';
import { parseFetch, safeName } from '../../src/backup/fetch.js';

const sum = 'b'.repeat(64);
const manifest = (over: Record<string, unknown> = {}) => ({ format: 2, host: 'db-prod', database: 'app', cluster: '15/main', system_identifier: '7', server_version: '15.14', dump_format: 'custom', encrypted: true, started_at: '2099-01-01T00:00:00Z', finished_at: '2099-01-01T00:01:00Z', tables: 5, rows: 10, bytes: 100, newest_event: null, files: { 'dump.pgdump.age': sum, 'counts.json.age': sum }, ...over });
const record = (id: string, over: Record<string, unknown> = {}, m = manifest()) => JSON.stringify({ id, host: 'db-prod', database: 'app', upload: 'u', received_at: '2026-12-02T17:05:04Z', received_epoch: 1, bytes: 100, manifest: m, ...over });
const line = (path: string, rec: string, verified = 'null') => `${path}\t${rec}\t${verified}`;
const ROOT = '/srv/ironclad/backups/db-prod/app';

t.test('a record the store wrote: its id, its time, the host clock only recorded', async (t) => {
  const { entries, unreadable } = parseCatalog('backup-far', line(`${ROOT}/20261202T170504Z-db-prod-app`, record('20261202T170504Z-db-prod-app'), '{"verified":true,"at":"2026-12-02T17:06:34Z"}'));
  t.same(unreadable, []);
  t.match(entries[0], { id: '20261202T170504Z-db-prod-app', time: '2026-12-02T17:05:04Z', host_time: '2099-01-01T00:01:00Z', encrypted: true, verified: true, row_counts: {} });
});

t.test('what does not belong where it lies is not a backup', async (t) => {
  const forged = [
    line(`${ROOT}/20261202T170504Z-db-prod-app`, record('zzzz/../../../../etc/x')),
    line(`${ROOT}/20261202T170504Z-db-prod-app`, record('20261202T170504Z-db-prod-app', { host: 'staging' })),
    line(`${ROOT}/x`, record('x', {}, manifest({ host: 'staging' }))),
    line(`${ROOT}/y`, record('y', {}, manifest({ rows: -1 }))),
    line(`${ROOT}/z`, record('z', {}, manifest({ row_counts: { a: 1 } }))),
    line(`${ROOT}/w`, 'not json'),
  ];
  const { entries, unreadable } = parseCatalog('backup-far', forged.join('\n'));
  t.same(entries, []);
  t.equal(unreadable.length, forged.length);
});

t.test('a legacy backup (before encryption) reads from its manifest, row counts included', async (t) => {
  const legacy = JSON.stringify({ id: '20261101T021500Z-db-prod-app', host: 'db-prod', database: 'app', system_identifier: '7', finished_at: '2026-11-01T02:16:00Z', tables: 1, rows: 3, bytes: 9, row_counts: { 'public.users': 3 } });
  const { entries } = parseCatalog('backup-far', line(`${ROOT}/20261101T021500Z-db-prod-app`, legacy));
  t.match(entries[0], { encrypted: false, time: '2026-11-01T02:16:00Z', row_counts: { 'public.users': 3 } });
});

t.test('newest first by the store\'s time, whatever the hosts\' clocks said', async (t) => {
  const a = line(`${ROOT}/a`, record('a', { received_at: '2026-12-01T00:00:00Z' }));
  const b = line(`${ROOT}/b`, record('b', { received_at: '2026-12-02T00:00:00Z' }, manifest({ finished_at: '2000-01-01T00:00:00Z' })));
  t.same(parseCatalog('s', [a, b].join('\n')).entries.map((e) => e.id), ['b', 'a']);
});

t.test('the drill compares names as exact strings', async (t) => {
  const names = { 'public.x/id>\\/root\\/PWNED #/e;#': 1, 'public.new\nline': 2, 'public.Zürich ✓': 3, 'public.users': 4 };
  t.same(compareCounts(names, { ...names }), []);
  t.match(compareCounts(names, { ...names, 'public.users': 5 }), [/"public.users" has 5 rows restored, the backup says 4/]);
  const { 'public.new\nline': _, ...missing } = names;
  t.match(compareCounts(names, missing), [/table "public.new\\nline" is not in the restored database/]);
  t.match(compareCounts({}, { 'public.extra': 1 }), [/"public.extra" was restored but the backup does not list it/]);
  const out = parseDrill(`@@server /usr/lib/postgresql/15/bin\n@@note left out (superuser only; never in a copy): EVENT TRIGGER - x\n@@restore 0\n@@counts\t2\t3\t${JSON.stringify({ 'public.a\tb': 1, 'public.c': 2 })}\n`);
  t.same(out, { server: '/usr/lib/postgresql/15/bin', restoreExit: 0, log: [], notes: ['left out (superuser only; never in a copy): EVENT TRIGGER - x'], counted: { tables: 2, rows: 3, counts: { 'public.a\tb': 1, 'public.c': 2 }, parentsRows: 3, ancestors: {} } });
  t.same(parseFetch('@@counts {"tables":1,"rows":2,"row_counts":{"public.a":2}}\n@@bytes 99\n'), { counts: { tables: 1, rows: 2, row_counts: { 'public.a': 2 } }, bytes: 99 });
  t.same(parseFetch('@@counts null\n@@bytes 5\n'), { counts: null, bytes: 5 });
});

t.test('a name becomes part of a path only when it is a plain name', async (t) => {
  for (const bad of ['', '.', '..', '../x', 'a/b', '.hidden', 'x'.repeat(201), 'a b', 'a\nb']) t.throws(() => safeName('backup id', bad), /not a plain name/, JSON.stringify(bad));
  t.equal(safeName('database', 'app$1-x.y'), 'app$1-x.y');
});
