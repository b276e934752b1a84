// Judging backups from canned catalog entries: freshness against the schedule, sudden drops, drills, the job's last run.
import t from 'tap';
import { backupSeries, judgeDrill, judgeFreshness, judgeJob, judgeTrend } from '../../src/audit/backups.js';
import type { BackupEntry } from '../../src/backup/catalog.js';
import type { BackupSpec } from '../../src/inventory/types.js';

const NOW = new Date('2026-11-30T08:00:00Z');
const spec: BackupSpec = { to: 'store', databases: ['app'], schedule: '*-*-* 02:15:00', retention: { daily: 7, weekly: 4, monthly: 3 }, expect: { min_tables: 3, max_shrink: 0.5 } };

function entry(time: string, rows: number, bytes: number, verified_at: string | null = null, database = 'app'): BackupEntry {
  return { id: `${time}-db-${database}`, host: 'db', database, time, bytes, tables: 5, rows, system_identifier: '1', verified: verified_at !== null, verified_at, store: 'store', path: '/x', newest_event: null, row_counts: {}, encrypted: true, host_time: null };
}

t.test('series: oldest first, this host and database only, drops flagged', async (t) => {
  const s = backupSeries('db', 'app', [
    entry('2026-11-29T02:16:00Z', 1000, 100_000),
    entry('2026-11-27T02:16:00Z', 1000, 100_000),
    entry('2026-11-28T02:16:00Z', 700, 100_000), // -30% rows
    entry('2026-11-29T02:16:00Z', 5, 5, null, 'other'),
  ]);
  t.same(s.points.map((p) => [p.time.slice(0, 10), p.drop]), [['2026-11-27', false], ['2026-11-28', true], ['2026-11-29', false]]);
  t.same(backupSeries('db', 'app', [entry('2026-11-28T02:16:00Z', 1000, 100_000), entry('2026-11-29T02:16:00Z', 1000, 70_000)]).points[1].drop, true, 'bytes alone');
  t.same(backupSeries('db', 'app', [entry('2026-11-28T02:16:00Z', 1000, 100_000), entry('2026-11-29T02:16:00Z', 760, 80_000)]).points[1].drop, false, 'within 25%');
});

t.test('freshness against the schedule', async (t) => {
  const cases: [string, string[], string, RegExp][] = [
    ['no backup at all', [], 'failure', /no backup in the store/],
    ['after the last scheduled run', ['2026-11-30T02:16:00Z'], 'ok', /is 5 h 44 min old/],
    ['missed the last run, still in the grace period', ['2026-11-29T02:16:00Z'], 'warning', /late: .* the run of 2026-11-30T02:15:00.000Z left none/],
    ['missed two runs', ['2026-11-28T02:16:00Z'], 'failure', /STALE: newest backup .* is 2 d 5 h old/],
  ];
  for (const [name, times, level, message] of cases) {
    const f = judgeFreshness('db', spec, backupSeries('db', 'app', times.map((x) => entry(x, 10, 10))), NOW);
    t.equal(f.level, level, name);
    t.match(f.message, message, name);
  }
  const early = judgeFreshness('db', spec, backupSeries('db', 'app', [entry('2026-11-29T02:16:00Z', 10, 10)]), new Date('2026-11-30T03:00:00Z'));
  t.equal(early.level, 'ok', 'the job may still run within the grace period');
});

t.test('trend', async (t) => {
  const series = (pairs: [number, number][]) => backupSeries('db', 'app', pairs.map(([rows, bytes], i) => entry(`2026-11-2${i}T02:16:00Z`, rows, bytes)));
  const cases: [string, [number, number][], string, RegExp][] = [
    ['steady growth', [[100, 1000], [110, 1100], [120, 1200]], 'ok', /3 backups: rows 100 -> 120.*no sudden drop/],
    ['one backup', [[100, 1000]], 'ok', /one backup so far/],
    ['none', [], 'warning', /no backups/],
    ['the newest fell to near zero', [[100, 1000], [110, 1100], [1, 40]], 'failure', /SHRANK/],
    ['an earlier drop, since recovered', [[100, 1000], [10, 100], [100, 1000]], 'warning', /earlier drop/],
  ];
  for (const [name, pairs, level, message] of cases) {
    const f = judgeTrend('db', series(pairs));
    t.equal(f.level, level, name);
    t.match(f.message, message, name);
  }
  t.match(judgeTrend('db', series([[100, 1000], [1, 40]])).details, [/rows 100 -> 1 \(-99%\)/]);
});

t.test('restore drills', async (t) => {
  const cases: [string, (string | null)[], string, RegExp][] = [
    ['never drilled', [null, null], 'failure', /ever passed a restore drill/],
    ['drilled yesterday', ['2026-11-29T03:00:00Z', null], 'ok', /last successful restore drill 29 h ago/],
    ['drilled long ago', ['2026-11-01T03:00:00Z'], 'warning', /due again/],
  ];
  for (const [name, drills, level, message] of cases) {
    const f = judgeDrill('db', backupSeries('db', 'app', drills.map((v, i) => entry(`2026-11-2${i}T02:16:00Z`, 10, 10, v))), NOW);
    t.equal(f.level, level, name);
    t.match(f.message, message, name);
  }
});

t.test('the job', async (t) => {
  const status = (state: 'ok' | 'failed' | 'refused', exit: number, message: string) => ({ installed: true, host: 'db', databases: ['app'], status: { state, exit, message, time: '2026-11-30T02:15:09Z' } });
  t.match(judgeJob('db', status('ok', 0, 'backed up: x')), { level: 'ok', message: /backed up: x/ });
  t.match(judgeJob('db', status('refused', 3, 'a second instance on port 5432')), { level: 'failure', message: /REFUSED with exit 3: a second instance/ });
  t.match(judgeJob('db', status('failed', 1, 'store unreachable')), { level: 'failure', message: /FAILED/ });
  t.match(judgeJob('db', { installed: true, host: 'db', databases: ['app'], status: null }), { level: 'warning', message: /never run/ });
  t.match(judgeJob('db', { installed: false, host: null, databases: [], status: null }), { level: 'failure', details: ['run: ironclad apply'] });
});
