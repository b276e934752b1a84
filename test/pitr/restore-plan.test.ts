// The choice of base backup and WAL segments for a point-in-time restore, from the store's (hostile) list.
import t from 'tap';
import { chooseBase, parseList, parseTarget, planWal, segmentName, segmentNumber, segmentOf, type BaseBackup } from '../../src/pitr/restore-plan.js';

const MB16 = 16 * 1024 * 1024;
const base = (id: string, start: string, end: string, endTime: string): string =>
  `base ${JSON.stringify({ id, host: 'db', start_lsn: start, end_lsn: end, start_time: endTime, end_time: endTime, timeline: 1, system_identifier: '7300000000000000001', bytes: 1000 })}`;
const wal = (n: number, commit: string) => {
  const seg = segmentName(1, BigInt(n), MB16);
  return [`wal ${seg} 0/${(n * MB16).toString(16).toUpperCase()} 0/${((n + 1) * MB16).toString(16).toUpperCase()} ${commit} 12345`, `file ${seg}.gz.age`];
};
const LIST = [
  base('20261201T020000Z', '0/2000028', '0/2000100', '2026-12-01T02:00:05Z'),
  base('20261202T020000Z', '0/5000028', '0/5000100', '2026-12-02T02:00:05Z'),
  ...[2, 3, 4, 5, 6, 7, 8].flatMap((n) => wal(n, n === 3 ? '-' : `2026-12-0${n < 5 ? 1 : 2}T0${n}:00:00.123456Z`)),
  'partial 000000010000000000000009 2026-12-02T09:30:00Z',
].join('\n');

t.test('segment names and numbers', async (t) => {
  t.equal(segmentOf(1, '0/2000028', MB16), '000000010000000000000002');
  t.equal(segmentOf(3, '1/FF000000', MB16), '0000000300000001000000FF');
  t.equal(segmentName(1, 0x100n, MB16), '000000010000000100000000', 'the 256th 16 MB segment starts the next log id');
  t.same(segmentNumber('0000000300000001000000FF', MB16), { tli: 3, segno: 0x1ffn });
  t.equal(segmentOf(1, '0/4000000', 64 * 1024 * 1024), '000000010000000000000001', 'another segment size');
});

t.test('--time: latest, or a time with its zone; nothing else', async (t) => {
  t.same(parseTarget('latest'), { kind: 'latest' });
  t.match(parseTarget('2026-12-02T21:15:00Z'), { kind: 'time', ms: Date.UTC(2026, 11, 2, 21, 15) });
  t.match(parseTarget('2026-12-02 22:15:00.5+01:00'), { kind: 'time', text: '2026-12-02T22:15:00.5+01:00', ms: Date.UTC(2026, 11, 2, 21, 15, 0, 500) });
  for (const bad of ['2026-12-02T21:15:00', 'yesterday', "2026-12-02T21:15:00Z'; DROP", '2026-13-45T99:00:00Z', ''])
    t.throws(() => parseTarget(bad), /not 'latest' nor an ISO 8601 time/, JSON.stringify(bad));
});

t.test('the list: every line checked, a segment counts only when its file is there', async (t) => {
  const l = parseList(LIST, 'db');
  t.equal(l.bases.length, 2);
  t.equal(l.wal.length, 7);
  t.equal(l.wal[1].last_commit, null, "'-': no commit in that segment");
  t.same(l.partial, { segment: '000000010000000000000009', last_commit: '2026-12-02T09:30:00Z' });
  t.equal(l.segSize, MB16, "the segment size the store's index spans (a restore plans its WAL before the base arrives)");
  t.equal(parseList(LIST.split('\n').filter((x) => !x.startsWith('wal ')).join('\n'), 'db').segSize, null, 'no index line: not known');
  const withoutFile = LIST.split('\n').filter((x) => x !== 'file 000000010000000000000004.gz.age').join('\n');
  t.notOk(parseList(withoutFile, 'db').wal.some((w) => w.segment === '000000010000000000000004'), 'indexed but missing from the archive: not there');
  const hostile: [string, RegExp][] = [
    [base('../../etc', '0/1', '0/2', '2026-12-01T00:00:00Z'), /line 1: field id/],
    [base('20261201T020000Z', '0/1', '0/2', '2026-12-01T00:00:00Z').replace('"host":"db"', '"host":"other"'), /field host/],
    [base('20261201T020000Z', "0/1'", '0/2', '2026-12-01T00:00:00Z'), /field start_lsn/],
    [base('20261201T020000Z', '0/5', '0/2', '2026-12-01T00:00:00Z'), /field end_lsn/],
    [base('20261201T020000Z', '0/1', '0/2', '$(reboot)'), /field start_time/],
    ['wal ../../../etc/passwd 0/1 0/2 - 1', /not a WAL index line/],
    ['wal 000000010000000000000002 0/1 0/2 $(reboot) 1', /last commit time/],
    ['file ../x.gz.age', /not an archived file name/],
    ['rm -rf /', /not a line of the pitr list/],
    ['base {"id":', /not JSON/],
    [`${base('20261201T020000Z', '0/1', '0/2', '2026-12-01T00:00:00Z')}\n${base('20261201T020000Z', '0/1', '0/2', '2026-12-01T00:00:00Z')}`, /names a base backup twice/],
    [`${wal(2, '-')[0]}\nwal 000000010000000000000003 0/3000000 0/5000000 - 1`, /do not span one segment size/],
    ['wal 000000010000000000000002 0/2000000 0/2001000 - 1', /do not span one segment size/],
  ];
  for (const [text, why] of hostile) t.throws(() => parseList(text, 'db'), why, text.slice(0, 60));
});

t.test('the base: the newest that ended by the target', async (t) => {
  const { bases } = parseList(LIST, 'db');
  t.equal(chooseBase(bases, parseTarget('2026-12-02T03:00:00Z'))!.id, '20261202T020000Z');
  t.equal(chooseBase(bases, parseTarget('2026-12-02T02:00:04Z'))!.id, '20261201T020000Z', 'one second before the newer base ended');
  t.equal(chooseBase(bases, parseTarget('latest'))!.id, '20261202T020000Z');
  t.equal(chooseBase(bases, parseTarget('2026-11-30T00:00:00Z')), null, 'before the window');
});

t.test('the segments: up to the first commit after the target, else the end and the partial', async (t) => {
  const l = parseList(LIST, 'db');
  const [older, newer] = l.bases as [BaseBackup, BaseBackup];
  const seg = (n: number) => segmentName(1, BigInt(n), MB16);
  t.same(planWal({ base: older, wal: l.wal, segSize: MB16, target: parseTarget('2026-12-01T03:30:00Z') }), { segments: [seg(2), seg(3), seg(4)], partial: null, problem: null }, 'segment 4 holds a commit at 04:00, after the target');
  t.same(planWal({ base: newer, wal: l.wal, segSize: MB16, target: parseTarget('latest') }), { segments: [5, 6, 7, 8].map(seg), partial: seg(9), problem: null });
  t.same(planWal({ base: newer, wal: l.wal, segSize: MB16, target: parseTarget('2026-12-02T23:00:00Z') }).partial, seg(9), 'no completed segment has a later commit: the partial too');
  const gap = parseList(LIST.split('\n').filter((x) => x !== 'file 000000010000000000000006.gz.age').join('\n'), 'db');
  t.match(planWal({ base: newer, wal: gap.wal, segSize: MB16, target: parseTarget('latest') }), { problem: /gap: WAL segment 000000010000000000000006 is missing/ });
  const noBaseWal = parseList(LIST.split('\n').filter((x) => !x.includes('000000010000000000000002')).join('\n'), 'db');
  t.match(planWal({ base: older, wal: noBaseWal.wal, segSize: MB16, target: parseTarget('latest') }), { problem: /gap: WAL segment 000000010000000000000002 is missing/ });
  const point = { kind: 'point' as const, name: 'ironclad-drill-20261202T050000Z', lsn: '0/6000010', ms: Date.UTC(2026, 11, 2, 5) };
  t.same(planWal({ base: newer, wal: l.wal, segSize: MB16, target: point }).segments, [5, 6, 7].map(seg), 'a restore point: its segment and the next');
  const short = parseList([base('20261202T020000Z', '0/5000028', '0/7000100', '2026-12-02T02:00:05Z'), ...wal(5, '-')].join('\n'), 'db');
  t.match(planWal({ base: short.bases[0], wal: short.wal, segSize: MB16, target: parseTarget('latest') }), { problem: /not complete in the archive/ });
});
