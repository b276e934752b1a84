import t from 'tap';
import { imageCheckJobs, judgeCheck, runsPerDay } from '../../src/images/check-plan.js';
import type { ImageRecord } from '../../src/images/record.js';
import type { ImagePair, Inventory } from '../../src/inventory/types.js';

const now = new Date('2026-12-02T12:00:00Z');
const pair: ImagePair = { name: 'uploads', source: { host: 'a', path: '/s' }, replica: { host: 'b', path: '/r' }, check: { schedule: '*-*-* 03:30:00', days: 30 } };
const counts = { missing: 0, extra: 0, size_mismatch: 0, content_mismatch: 0, source_rot: 0, unreadable: 0 };
const rec = (o: Partial<ImageRecord> = {}): ImageRecord => ({
  name: 'uploads', at: '2026-12-02T03:30:00Z', ok: true, mode: 'slice', hash: 'blake3', source: { files: 1, bytes: 1 }, replica: { files: 1, bytes: 1 }, equal: 1, counts, walk_errors: 0, duration_ms: 1,
  coverage: { verified_fraction: 1, oldest_days: 12, days: 30, text: '' }, ...o,
});

t.test('runsPerDay from the schedule', async (t) => {
  t.equal(runsPerDay('*-*-* 03:30:00', now), 1);
  t.equal(runsPerDay('*-*-* 00/6:00:00', now), 4);
  t.equal(runsPerDay('Mon 02:00', now), 1 / 7);
  t.equal(runsPerDay('whenever', now), undefined);
});

t.test('imageCheckJobs: one job per checked pair, on its replica host, cron and OnCalendar; a dot in the name as _', async (t) => {
  const inv = { images: [pair, { ...pair, name: 'plain', check: undefined }, { ...pair, name: 'v1.2' }] } as unknown as Inventory;
  t.same(imageCheckJobs(inv), [
    { pair: 'uploads', host: 'b', onCalendar: '*-*-* 03:30:00', cron: '30 3 * * *', unit: 'ironclad-images-check-uploads' },
    { pair: 'v1.2', host: 'b', onCalendar: '*-*-* 03:30:00', cron: '30 3 * * *', unit: 'ironclad-images-check-v1_2' },
  ]);
});

t.test('judgeCheck: a table', async (t) => {
  const cases: [string, ImageRecord | null, Date, string, RegExp][] = [
    ['fresh and covered', rec(), now, 'ok', /^100% verified within 30 days, oldest 12 days ago$/],
    ['never run', null, now, 'warning', /never run/],
    ['a record without coverage (compare only)', rec({ coverage: undefined }), now, 'warning', /never run/],
    ['rot on the source', rec({ ok: false, counts: { ...counts, source_rot: 2 } }), now, 'failure', /ROT ON THE SOURCE: 2/],
    ['a discrepancy', rec({ ok: false, counts: { ...counts, missing: 3 } }), now, 'failure', /3 missing/],
    ['coverage aged past the days since the run', rec(), new Date('2026-12-21T12:00:00Z'), 'failure', /oldest 31 days ago/],
    ['coverage short', rec({ coverage: { verified_fraction: 0.9, oldest_days: 40, days: 30, text: '' } }), now, 'failure', /not every file/],
    ['runs missed', rec(), new Date('2026-12-05T12:00:00Z'), 'warning', /ran 3 days ago/],
    ['a first cycle under way', rec({ coverage: { verified_fraction: 0.5, oldest_days: null, days: 30, text: '50% verified', never: 15, stale: 0 } }), now, 'warning', /first cycle .* under way: 50% verified/],
  ];
  for (const [name, r, at, level, message] of cases) t.match(judgeCheck(pair, r, at), { level, message }, name);
  t.equal(judgeCheck({ ...pair, check: undefined }, rec(), now), undefined, 'no check: no verdict');
});
