// parseSchedule (systemd OnCalendar -> cron) and parseDuration, as tables of cases.
import t from 'tap';
import { lastRuns, parseDuration, parseSchedule } from '../../src/inventory/schedule.js';

const good: [string, string][] = [
  ['*-*-* 02:15:00', '15 2 * * *'],
  ['*-*-* 02:15', '15 2 * * *'],
  ['02:15', '15 2 * * *'],
  ['2:05', '5 2 * * *'],
  ['daily', '0 0 * * *'],
  ['Daily', '0 0 * * *'],
  ['hourly', '0 * * * *'],
  ['minutely', '* * * * *'],
  ['weekly', '0 0 * * 1'],
  ['monthly', '0 0 1 * *'],
  ['Mon *-*-* 00:00:00', '0 0 * * 1'],
  ['Mon..Fri 02:15', '15 2 * * 1-5'],
  ['Sat,Sun 03:30', '30 3 * * 6,0'],
  ['Mon,Wed..Fri *-*-* 01:00', '0 1 * * 1,3-5'],
  ['Fri..Mon 04:00', '0 4 * * 5-6,0-1'],
  ['Sunday 05:00', '0 5 * * 0'],
  ['*-*-01 04:00', '0 4 1 * *'],
  ['*-01,07-01 00:00', '0 0 1 1,7 *'],
  ['12-25 06:00', '0 6 25 12 *'],
  ['*-*-* *:0/15:00', '0-59/15 * * * *'],
  ['*-*-* */6:00', '0 */6 * * *'],
  ['*-*-* 1..5:30', '30 1-5 * * *'],
  ['*-*-* 00,12:00', '0 0,12 * * *'],
];

t.test('OnCalendar expressions become cron lines', async (t) => {
  for (const [onCalendar, cron] of good) {
    const s = parseSchedule(onCalendar);
    t.same(s.ok ? s.cron : s.error, cron, `'${onCalendar}' -> '${cron}'`);
  }
});

t.test('shorthands keep their expanded OnCalendar form', async (t) => {
  const s = parseSchedule('daily');
  t.ok(s.ok);
  if (s.ok) t.equal(s.onCalendar, '*-*-* 00:00:00');
});

const bad: [string, RegExp][] = [
  ['', /it is empty/],
  ['   ', /it is empty/],
  ['daily at 2', /'daily' is not a weekday/],
  ['Funday 02:00', /'Funday' is not a weekday/],
  ['Mo 02:00', /'Mo' is not a weekday/],
  ['*-*-* 25:00', /hour '25' is malformed or out of range \(0\.\.23\)/],
  ['*-*-* 02:60', /minute '60' is malformed or out of range \(0\.\.59\)/],
  ['*-*-32 02:00', /day of month '32'/],
  ['*-13-* 02:00', /month '13'/],
  ['*-*-* 02:15:30', /seconds must be 00/],
  ['2025-*-* 02:15', /a fixed year \(2025\) would run only once/],
  ['*-*-* 02', /'02' is not a time/],
  ['*-*-* 1:2:3:4', /is not a time/],
  ['*-*-*-* 02:00', /is not a date/],
  ['*-*-* 5..1:00', /hour '5\.\.1'/],
  ['*-*-* 0/0:00', /hour '0\/0'/],
  ['*-*-* x:00', /hour 'x'/],
  ['Mon *-*-* 02:00 UTC', /at most three parts/],
  ['Mon', /expected a date and a time/],
  ['0 2 * * *', /at most three parts/],
];

t.test('bad schedules say what is wrong and show a correct example', async (t) => {
  for (const [text, why] of bad) {
    const s = parseSchedule(text);
    t.equal(s.ok, false, `'${text}' is rejected`);
    if (!s.ok) {
      t.match(s.error, why, `'${text}': ${why}`);
      t.match(s.error, "'*-*-* 02:15:00'", `'${text}': shows an example`);
    }
  }
});

t.test('durations', async (t) => {
  const cases: [string, number | undefined][] = [
    ['45s', 45],
    ['90m', 5400],
    ['36h', 129600],
    ['2d', 172800],
    ['0s', 0],
    ['36', undefined],
    ['h', undefined],
    ['1.5h', undefined],
    ['-1h', undefined],
    ['36H', undefined],
    [' 36h', undefined],
    ['36 hours', undefined],
    ['1w', undefined],
    ['', undefined],
  ];
  for (const [text, seconds] of cases) t.equal(parseDuration(text), seconds, `'${text}' -> ${seconds}`);
});

const runs: [string, string, number, string[]][] = [
  ['15 2 * * *', '2026-11-30T08:00:00Z', 2, ['2026-11-30T02:15:00.000Z', '2026-11-29T02:15:00.000Z']],
  ['15 2 * * *', '2026-11-30T02:15:00Z', 1, ['2026-11-30T02:15:00.000Z']],
  ['15 2 * * *', '2026-11-30T02:14:59Z', 1, ['2026-11-29T02:15:00.000Z']],
  ['0 */6 * * *', '2026-11-30T13:00:00Z', 3, ['2026-11-30T12:00:00.000Z', '2026-11-30T06:00:00.000Z', '2026-11-30T00:00:00.000Z']],
  ['15 2 * * 1-5', '2026-11-29T08:00:00Z', 1, ['2026-11-27T02:15:00.000Z']], // Sunday: last Friday
  ['0 4 1 * *', '2026-11-30T08:00:00Z', 2, ['2026-11-01T04:00:00.000Z', '2026-10-01T04:00:00.000Z']],
  ['0-59/15 * * * *', '2026-11-30T08:07:00Z', 2, ['2026-11-30T08:00:00.000Z', '2026-11-30T07:45:00.000Z']],
  ['0 0 1 * 1', '2026-11-29T08:00:00Z', 1, ['2026-11-23T00:00:00.000Z']], // both day fields: either matches (a Monday)
];
for (const [cron, now, count, expected] of runs)
  t.same(lastRuns(cron, new Date(now), count).map((d) => d.toISOString()), expected, `lastRuns ${cron} at ${now}`);
t.same(lastRuns('0 0 31 2 *', new Date('2026-11-30T00:00:00Z'), 1), [], 'a date that never comes: no runs');
