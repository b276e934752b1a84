// restore-production's pure parts: the names a kept database gets, the words of its report, the room it needs.
import t from 'tap';
import { checkKeptFits, isKeptName, keptName, lossReport, span, stamp, tableChanges } from '../../src/restore/names.js';
import { bytesNeeded, refreshInto } from '../../src/restore/target.js';
import { damagedPreamble, eventsOf } from '../../src/restore/report.js';
import type { Host, Inventory } from '../../src/inventory/types.js';

const at = new Date('2026-12-02T22:15:07.456Z');

t.test('kept names: the UTC minute, else the second; never a name that exists; only such names are swapped back', async (t) => {
  t.equal(stamp(at), '20261202T2215Z');
  t.equal(stamp(at, true), '20261202T221507Z');
  t.equal(keptName('app', 'damaged', at, new Set()), 'app__damaged_20261202T2215Z');
  t.equal(keptName('app', 'damaged', at, new Set(['app__damaged_20261202T2215Z'])), 'app__damaged_20261202T221507Z', 'the minute taken: the second');
  t.throws(() => keptName('app', 'damaged', at, new Set(['app__damaged_20261202T2215Z', 'app__damaged_20261202T221507Z'])), /already exists/);
  t.equal(keptName('app', 'restored', at, new Set()), 'app__restored_20261202T2215Z');
  for (const [name, ok] of [
    ['app__damaged_20261202T2215Z', true],
    ['app__damaged_20261202T221507Z', true],
    ['app__restored_20261202T2215Z', false],
    ['app__damaged_2026', false],
    ['app__damaged_20261202T2215Z; DROP', false],
    ['app2__damaged_20261202T2215Z', false],
    ['postgres', false],
    ['app', false],
  ] as const)
    t.equal(isKeptName('app', name, 'damaged'), ok, name);
});

t.test('a database whose kept names would be cut at 63 bytes is refused', async (t) => {
  t.doesNotThrow(() => checkKeptFits('a'.repeat(36)));
  t.throws(() => checkKeptFits('a'.repeat(37)), /at most 36 bytes/);
  t.throws(() => checkKeptFits('é'.repeat(19)), /too long/, 'bytes, not characters');
});

t.test('spans and table changes', async (t) => {
  t.same([span(30), span(61), span(3600 * 5 + 720), span(86400 * 3 + 3600 * 4)], ['30 s', '1 min', '5 h 12 min', '3 d 4 h']);
  t.same(tableChanges({ 'public.a': 10, 'public.b': 5, 'public.c': 1 }, { 'public.a': 12, 'public.b': 0, 'public.c': 1, 'public.d': 3 }), [
    { table: 'public.b', backup: 5, now: 0 },
    { table: 'public.d', backup: null, now: 3 },
    { table: 'public.a', backup: 10, now: 12 },
  ], 'biggest change first; equal tables left out; a new table has no backup count');
});

t.test('the report: the time the data represents and what came after it, read or not', async (t) => {
  const base = { id: 'B1', time: '2026-12-02T20:15:00Z', newestEvent: '2026-12-02 20:14:00+00', eventsTable: 'events.created_at', now: at };
  const read = lossReport({ ...base, damaged: { readable: true, database: 'app', host: 'db-prod', changes: [{ table: 'public.orders', backup: 2000, now: 0 }, { table: 'public.events', backup: 5000, now: 5025 }], events: { table: 'events', after: 25, newest: '2026-12-02 22:10:00+00' } } });
  t.match(read.lines[0], /backup B1, committed to the store at 2026-12-02T20:15:00Z \(2 h 0 min ago; .*\); its newest event \(events\.created_at\): 2026-12-02 20:14:00\+00/);
  t.match(read.lines.join('\n'), /app on db-prod has 25 events rows newer than the backup's newest event, the newest at 2026-12-02 22:10:00\+00/);
  t.match(read.lines.join('\n'), /public\.orders 2000 -> 0 \(-2000\), public\.events 5000 -> 5025 \(\+25\)/);
  t.match(read.lines.join('\n'), /NOT in the restored data: the swap keeps app beside it/);
  t.match(read.lines.join('\n'), /fewer rows now in public\.orders/);
  t.equal(read.lost, '25 events rows after the backup (newest 2026-12-02 22:10:00+00)');
  const gone = lossReport({ ...base, damaged: { readable: false, database: 'app', host: 'db-prod', reason: 'cannot connect' } });
  t.match(gone.lines[1], /app on db-prod cannot be read \(cannot connect\): everything written to it after 2026-12-02T20:15:00Z is NOT in the restored data/);
  t.equal(gone.lost, 'everything written after 2026-12-02T20:15:00Z (2 h 0 min up to now): app on db-prod cannot be read');
  const noEvents = lossReport({ ...base, eventsTable: undefined, damaged: { readable: true, database: 'app', host: 'db-prod', changes: [] } });
  t.notMatch(noEvents.lines[0], /newest event/);
  t.equal(noEvents.lost, 'no rows added since the backup');
});

t.test('room needed, refresh targets, events, and the session that reads a damaged database', async (t) => {
  t.equal(bytesNeeded(100, null), 600, 'no live database: 4x the dump, plus the copy twice');
  t.equal(bytesNeeded(100, 1000), 1200, 'the live database size when larger');
  const host = (name: string, extra: Partial<Host> = {}) => ({ name, tags: [], ...extra }) as unknown as Host;
  const inv = { refresh: { staging: { from: { host: 'db-prod', database: 'app' }, to: { host: 'staging', database: 'app' }, scrub: '', events: { table: 'events', time_column: 'created_at', columns: [], limit: 1 } } } } as unknown as Inventory;
  t.equal(refreshInto(inv, host('staging')), 'staging');
  t.equal(refreshInto(inv, host('db-prod')), undefined);
  t.same(eventsOf(inv, host('db-prod'), 'app'), inv.refresh.staging.events, "a refresh's events when the backup names none");
  t.same(eventsOf(inv, host('db-prod', { backup: { events: { table: 'audit', time_column: 'at' } } as Host['backup'] }), 'app'), { table: 'audit', time_column: 'at' }, "the backup's own first");
  t.equal(eventsOf(inv, host('db-prod'), 'other'), undefined);
  const pre = damagedPreamble();
  t.match(pre, /^SET search_path = pg_catalog, pg_temp;/, 'names resolved in pg_catalog only');
  t.match(pre, /default_transaction_read_only = on/);
  t.match(pre, /SET ROLE :"owner";$/, "as the database's owner, quoted by psql");
});

t.test('what a database holds is printed without control characters', async (t) => {
  const r = lossReport({ id: 'B1', time: '2026-12-02T20:15:00Z', newestEvent: 'x\u001b[2Jy', eventsTable: 'events.at', now: at, damaged: { readable: true, database: 'app', host: 'db-prod', changes: [{ table: 'public.a\nb\u001b]0;', backup: 1, now: 0 }], events: { table: 'events', after: 1, newest: '\r\nz' } } });
  t.notMatch(r.lines.join('|'), /[\u0000-\u001f]/);
  t.match(r.lines.join('|'), /public\.a\?b\?\]0;/);
  t.equal(r.lost, '1 events rows after the backup (newest ??z)');
});
