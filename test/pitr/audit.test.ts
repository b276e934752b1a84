// The audit's judgement of continuous archiving, one rule per row: the window stopped growing, a gap, no base, the lag,
// and the slot against its bound (production's disk).
import t from 'tap';
import { judgePitr, sizeBytes, type PitrAuditInput } from '../../src/pitr/audit.js';
import type { ClusterWindow } from '../../src/pitr/status.js';

const window: ClusterWindow = { host: 'db-prod', cluster: '15/main', earliest: '2026-12-02T02:15:30Z', latest: '2026-12-02T21:53:27.659794Z', lag_s: 20, archiving: true, store: 'backup-far', bases: 2, segments: 40, gap: false, received_s: 20, receiver: true, stopped: null, since: '2026-11-20T10:00:00Z' };
const good: PitrAuditInput = { host: 'db-prod', store: 'backup-far', window, slot: { walStatus: 'reserved', retainedBytes: 32 * 1024 ** 2 }, maxSlotWalKeepSize: '10GB', stallSeconds: 600 };
const levels = (i: PitrAuditInput) => Object.fromEntries(judgePitr(i).map((f) => [f.subject, f.level]));

t.test('one rule per row', async (t) => {
  const rows: [string, Partial<PitrAuditInput>, Record<string, string>, RegExp?][] = [
    ['all well', {}, { 'pitr window': 'ok', 'pitr lag': 'ok', 'pitr slot': 'ok' }, /restorable from 2026-12-02T02:15:30Z to 2026-12-02T21:53:27\.659794Z on backup-far/],
    ['the store did not answer', { window: null }, { 'pitr window': 'failure', 'pitr slot': 'ok' }, /could not be read from backup-far/],
    ['the store outside --limit', { window: 'not audited' }, { 'pitr window': 'warning', 'pitr slot': 'ok' }, /not judged: its store backup-far is not among the audited hosts/],
    ['the window stopped growing', { window: { ...window, received_s: 900, lag_s: 900, archiving: false } }, { 'pitr window': 'failure', 'pitr lag': 'warning' }, /no WAL for 15 min \(bound 10 min\)/],
    ['the receiver is down', { window: { ...window, receiver: false, archiving: false } }, { 'pitr window': 'failure' }, /the receiver is not running/],
    ['a gap', { window: { ...window, gap: true } }, { 'pitr window': 'failure' }, /a gap in the WAL/],
    ['no base', { window: { ...window, earliest: null, latest: null, lag_s: null, bases: 0 } }, { 'pitr window': 'failure' }, /no recovery window on backup-far: no base backup/],
    ['the disk floor stopped it', { window: { ...window, stopped: 'less than 5% would stay free on the store' } }, { 'pitr window': 'failure' }, /receiving stopped: less than 5%/],
    ['no slot', { slot: null }, { 'pitr slot': 'failure' }, /no replication slot ironclad_pitr/],
    ['the slot lost WAL', { slot: { walStatus: 'lost', retainedBytes: null } }, { 'pitr slot': 'failure' }, /lost WAL the store had not received/],
    ['the slot near its bound', { slot: { walStatus: 'extended', retainedBytes: 9 * 1024 ** 3 } }, { 'pitr slot': 'warning' }, /keeps 9\.0 GB of WAL on db-prod \(bound 10GB\): the store is far behind/],
    ['the server did not answer', { slot: undefined }, { 'pitr slot': 'warning' }],
  ];
  for (const [what, over, expect, message] of rows) {
    const input = { ...good, ...over };
    t.match(levels(input), expect, what);
    if (message) t.match(judgePitr(input).map((f) => f.message).join('\n'), message, what);
  }
});

t.test('sizes as PostgreSQL writes them', async (t) => {
  t.equal(sizeBytes('10GB'), 10 * 1024 ** 3);
  t.equal(sizeBytes('64MB'), 64 * 1024 ** 2);
  t.equal(sizeBytes('512kB'), 512 * 1024);
  t.equal(sizeBytes('-1'), null);
  t.equal(sizeBytes('10 parsecs'), null);
});
