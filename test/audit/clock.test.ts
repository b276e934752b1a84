import t from 'tap';
import { judgeClock, judgeOffset, judgeSync } from '../../src/audit/clock.js';

const ok = (offset_ms: number, rtt_ms = 10) => ({ host: 'h', ok: true as const, value: { offset_ms, rtt_ms, samples: 3 } });

t.test('offset: red beyond 5 s for sure, yellow when it cannot tell or beyond 1 s, green within', async (t) => {
  const cases: [string, ReturnType<typeof ok>, string, RegExp][] = [
    ['an hour ahead', ok(3_600_000), 'failure', /^OFF BY 1 h ahead of the controller's clock \(± 5 ms\): backup times/],
    ['6 s behind', ok(-6_000), 'failure', /^OFF BY 6\.0 s behind/],
    ['4 s, but a 4 s round trip', ok(4_000, 4_000), 'warning', /too long to tell whether it is within 5\.0 s/],
    ['2 s ahead', ok(2_000), 'warning', /^2\.0 s ahead/],
    ['40 ms', ok(40), 'ok', /^within 40 ms of the controller's clock \(± 5 ms\)$/],
    ['-300 ms', ok(-300), 'ok', /^within 300 ms of/],
  ];
  for (const [name, m, level, message] of cases) t.match(judgeOffset('h', m), { area: 'clock', subject: 'offset', level, message }, name);
  t.match(judgeOffset('h', { host: 'h', ok: false, error: new Error('h: the clock could not be read') }), { level: 'warning', message: /could not measure/ });
});

t.test('sync: a daemon in sync is green; none, or one not in sync, is a warning', async (t) => {
  t.match(judgeSync('h', { sync: { state: 'synchronised', daemon: 'chronyd', detail: 'x' }, reading: 1 }), { level: 'ok', message: /synchronised by chronyd/ });
  t.match(judgeSync('h', { sync: { state: 'unsynchronised', daemon: 'chronyd', detail: 'x' }, reading: 1 }), { level: 'warning' });
  t.match(judgeSync('h', { sync: { state: 'unknown', detail: 'no time sync daemon (...)' }, reading: 1 }), { level: 'warning', message: /^unknown, no time sync daemon/ });
  t.same(judgeClock('h', undefined, undefined), [], 'nothing gathered, nothing said');
  t.same(judgeClock('h', undefined, ok(0)).map((f) => f.subject), ['offset']);
});
