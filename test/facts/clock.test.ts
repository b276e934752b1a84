import { spawnSync } from 'node:child_process';
import t from 'tap';
import { offsetOf } from '../../src/facts/clock-offset.js';
import { CLOCK_COMMAND, clockFact, parseChrony, parseClock, parseReading, parseTimedatectl } from '../../src/facts/clock.js';
import { buildFactScript, splitSections } from '../../src/facts/script.js';

const part = (name: string, text: string) => ({ name, text });

const CHRONY_SYNCED = `rc=0
Reference ID    : C0A80001 (192.168.0.1)
Stratum         : 3
Ref time (UTC)  : Wed Dec 02 21:40:01 2026
System time     : 0.000012345 seconds fast of NTP time
Last offset     : -0.000001234 seconds
Leap status     : Normal
`;
const CHRONY_UNSYNCED = `rc=0
Reference ID    : 00000000 ()
Stratum         : 0
System time     : 0.000000000 seconds fast of NTP time
Leap status     : Not synchronised
`;

t.test('chrony: synchronised, not synchronised, daemon not answering, absent', async (t) => {
  t.match(parseChrony(CHRONY_SYNCED), { state: 'synchronised', daemon: 'chronyd', detail: /reference C0A80001 \(192\.168\.0\.1\), 0\.000012345 seconds fast/ });
  t.match(parseChrony(CHRONY_UNSYNCED), { state: 'unsynchronised', daemon: 'chronyd', detail: /leap status Not synchronised/ });
  t.equal(parseChrony('rc=1\n506 Cannot talk to daemon\n'), null);
  t.equal(parseChrony(''), null);
  t.equal(parseChrony(undefined), null);
});

t.test('timedatectl: the kernel flag, an NTP service not yet in sync, no systemd', async (t) => {
  t.match(parseTimedatectl('rc=0\nTimezone=UTC\nNTP=yes\nNTPSynchronized=yes\n', true), { state: 'synchronised', daemon: 'systemd-timesyncd' });
  t.match(parseTimedatectl('rc=0\nNTP=yes\nNTPSynchronized=no\n', false), { state: 'unsynchronised' });
  t.equal(parseTimedatectl('rc=0\nNTP=no\nNTPSynchronized=no\n', false), null, 'no NTP service: no daemon');
  t.equal(parseTimedatectl('rc=1\nSystem has not been booted with systemd as init system (PID 1). Can\'t operate.\n', false), null);
});

t.test('the whole fact: chrony first, then systemd, then the timesyncd flag, else unknown', async (t) => {
  const now = part('now', '1796247601.123456789\n');
  t.equal(parseClock({ parts: [now, part('chrony', CHRONY_SYNCED), part('timedatectl', 'rc=0\nNTP=no\nNTPSynchronized=no\n')] }).sync.state, 'synchronised');
  t.match(parseClock({ parts: [now, part('timesyncd', 'synchronized\n')] }).sync, { state: 'synchronised', daemon: 'systemd-timesyncd' });
  const none = parseClock({ parts: [now, part('chrony', 'rc=1\n506 Cannot talk to daemon\n'), part('timedatectl', 'rc=1\nSystem has not been booted with systemd\n'), part('timesyncd', '')] });
  t.match(none, { sync: { state: 'unknown', detail: /no time sync daemon/ }, reading: 1796247601.123456789 });
  t.match(clockFact.absent(), { sync: { state: 'unknown' }, reading: null });
});

t.test('a reading is digits or nothing (a hostile host prints anything)', async (t) => {
  t.equal(parseReading('1796247601.5\n'), 1796247601.5);
  t.equal(parseReading('1796247601.N\n'), 1796247601, 'busybox date without %N');
  t.equal(parseReading('1796247601\n'), 1796247601);
  for (const bad of ['', 'NaN', '-5', '1e12', '99999999999999999', '17962 47601', 'Wed Dec  2']) t.equal(parseReading(bad), null, JSON.stringify(bad));
});

t.test('offset from one sample: the host read between before and after', async (t) => {
  t.same(offsetOf(1_000_000, 1000.5, 1_000_200), { offset_ms: 400, rtt_ms: 200 });
  t.same(offsetOf(1_000_000, 4600.1, 1_000_010), { offset_ms: 3_600_095, rtt_ms: 10 }, 'an hour ahead');
  t.same(offsetOf(1_000_000, 940, 1_000_000), { offset_ms: -60_000, rtt_ms: 0 }, 'a minute behind');
});

t.test('the command runs for real here and parses; it is shellcheck-clean', async (t) => {
  const script = buildFactScript([{ name: 'clock', command: CLOCK_COMMAND }], 'n0nce');
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  const s = splitSections(r.stdout, 'n0nce').get('clock')!;
  t.equal(s.code, 0);
  const v = clockFact.parse(s);
  t.ok(v.reading !== null && Math.abs(v.reading * 1000 - Date.now()) < 5000, 'reads this machine\'s clock');
  t.ok(['synchronised', 'unsynchronised', 'unknown'].includes(v.sync.state));
  const sc = spawnSync('shellcheck', ['-s', 'sh', '-e', 'SC2317', '-'], { input: `ic_part() { :; }\n${CLOCK_COMMAND}\n`, encoding: 'utf8' });
  if (sc.error) return t.plan(0, 'shellcheck not installed');
  t.equal(sc.status, 0, sc.stdout);
});

t.test('facts: the offset measured in when the clock was asked; a clock that cannot be read leaves it null', async (t) => {
  const { withClockOffset } = await import('../../src/facts/clock-offset.js');
  const conn = (stdout: string) => ({ host: 'h', run: async () => ({ host: 'h', command: 'date', code: 0, stdout, stderr: '', durationMs: 1 }) }) as never;
  const facts = { host: 'h', absent: [], problems: [], facts: { clock: { sync: { state: 'unknown' as const, detail: 'x' }, reading: 1 } } } as never;
  const ahead = await withClockOffset(conn(`${Date.now() / 1000 + 3600}\n`), facts);
  const off = (ahead as { facts: { clock: { offset: { offset_ms: number } } } }).facts.clock.offset;
  t.ok(Math.abs(off.offset_ms - 3_600_000) < 2000, 'an hour ahead');
  const junk = await withClockOffset(conn('Wed Dec 2\n'), facts);
  t.equal((junk as { facts: { clock: { offset: null } } }).facts.clock.offset, null);
  const none = { host: 'h', absent: [], problems: [], facts: { os: {} } } as never;
  t.equal(await withClockOffset(conn('1\n'), none), none, 'not asked, not measured');
  const { clockRows } = await import('../../src/facts/clock.js');
  t.match(clockRows({ sync: { state: 'unknown', detail: 'x' }, reading: 0, offset: { offset_ms: -1500, rtt_ms: 8 } })[1], /, 1500 ms behind this machine \(± 4 ms\)$/);
});
