// The `clock` fact: whether a host's clock is kept in time by a sync daemon (chrony, or whatever systemd knows of:
// systemd-timesyncd, ntpd), and what the clock reads. The reading goes through `date` as the host's PATH finds it.
import { lines, partText } from './text.js';
import type { FactDef, Section } from './types.js';

/** Synchronised by a daemon, kept by one that is not synchronised (yet), or no daemon found at all. */
export type ClockSync =
  | { state: 'synchronised'; daemon: string; detail: string }
  | { state: 'unsynchronised'; daemon: string; detail: string }
  | { state: 'unknown'; detail: string };

/** A host's clock: who keeps it in time, and what it read. */
export interface ClockFact {
  sync: ClockSync;
  /** What the host's clock read, in seconds since the epoch (null when `date` printed something else). */
  reading: number | null;
  /** How far it is from this machine's clock, when measured (`ironclad facts`; the audit measures its own). */
  offset?: { offset_ms: number; rtt_ms: number } | null;
}

/** The status line of each tool is followed by what it printed, so the parser sees a daemon that does not answer. */
export const CLOCK_COMMAND = `
ic_part now
date +%s.%N
ic_part chrony
if command -v chronyc >/dev/null 2>&1; then out=$(chronyc -n tracking 2>&1); echo "rc=$?"; printf '%s\\n' "$out"; fi
ic_part timedatectl
if command -v timedatectl >/dev/null 2>&1; then out=$(timedatectl show 2>&1); echo "rc=$?"; printf '%s\\n' "$out"; fi
ic_part timesyncd
if [ -e /run/systemd/timesync/synchronized ]; then echo synchronized; fi
exit 0`;

/** A clock reading: seconds since the epoch, with a fraction when date has %N (busybox prints a literal N). */
export function parseReading(text: string | undefined): number | null {
  const line = lines(text ?? '')[0]?.trim() ?? '';
  const m = /^(\d{1,12})(?:\.(\d{1,9}|N))?$/.exec(line);
  if (!m) return null;
  return Number(m[1]) + (m[2] && m[2] !== 'N' ? Number(`0.${m[2]}`) : 0);
}

/** The first line `rc=N` and the rest of a tool's part, or null when the tool is not installed. */
function tool(text: string | undefined): { rc: number; out: string } | null {
  const m = /^rc=(\d+)\n?([\s\S]*)$/.exec((text ?? '').replace(/^\n+/, ''));
  return m ? { rc: Number(m[1]), out: m[2] } : null;
}

/** chronyd's view, when it answers: `Leap status : Normal` is synchronised. */
export function parseChrony(text: string | undefined): ClockSync | null {
  const t = tool(text);
  if (!t || t.rc !== 0) return null;
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(t.out)?.[1]?.trim() ?? '';
  const leap = field('Leap status');
  if (!leap) return null;
  const detail = [`reference ${field('Reference ID') || '?'}`, field('System time')].filter(Boolean).join(', ');
  return leap === 'Normal' || leap.startsWith('Insert') || leap.startsWith('Delete')
    ? { state: 'synchronised', daemon: 'chronyd', detail }
    : { state: 'unsynchronised', daemon: 'chronyd', detail: `leap status ${leap}; ${detail}` };
}

/** systemd's view (`timedatectl show`): NTPSynchronized is the kernel's flag, set by whichever daemon keeps time. */
export function parseTimedatectl(text: string | undefined, timesyncdFlag: boolean): ClockSync | null {
  const t = tool(text);
  if (!t || t.rc !== 0) return null;
  const kv = new Map(lines(t.out).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  if (!kv.has('NTPSynchronized')) return null;
  const daemon = timesyncdFlag ? 'systemd-timesyncd' : 'the NTP service systemd runs';
  if (kv.get('NTPSynchronized') === 'yes') return { state: 'synchronised', daemon, detail: `timedatectl: NTPSynchronized=yes, NTP=${kv.get('NTP') ?? '?'}` };
  if (kv.get('NTP') === 'yes') return { state: 'unsynchronised', daemon, detail: 'timedatectl: NTP=yes but NTPSynchronized=no' };
  return null;
}

/** Pure: the fact from its parts. chrony first (it says most), then systemd, then timesyncd's flag file. */
export function parseClock(section: Pick<Section, 'parts'>): ClockFact {
  const part = (n: string) => partText(section as Section, n);
  const flag = /synchronized/.test(part('timesyncd') ?? '');
  const sync =
    parseChrony(part('chrony')) ??
    parseTimedatectl(part('timedatectl'), flag) ??
    (flag ? { state: 'synchronised', daemon: 'systemd-timesyncd', detail: '/run/systemd/timesync/synchronized exists' } : null) ??
    ({ state: 'unknown', detail: 'no time sync daemon (no chronyd answering, no NTP service systemd knows of)' } as const);
  return { sync, reading: parseReading(part('now')) };
}

/** The fact: always runs; a host without any sync tool reports `unknown`. */
export const clockFact: FactDef<ClockFact> = {
  name: 'clock',
  tool: null,
  command: CLOCK_COMMAND,
  parse: parseClock,
  absent: () => ({ sync: { state: 'unknown', detail: 'not read' }, reading: null }),
};

/** The fact in a line for `ironclad facts`. */
export function clockRows(v: ClockFact): string[] {
  const when = v.reading === null ? 'an unreadable time' : new Date(v.reading * 1000).toISOString();
  const sync = v.sync.state === 'unknown' ? `sync unknown: ${v.sync.detail}` : `${v.sync.state} (${v.sync.daemon}: ${v.sync.detail})`;
  const off = v.offset === undefined ? '' : v.offset === null ? ', offset from this machine not measured' : `, ${Math.abs(v.offset.offset_ms)} ms ${v.offset.offset_ms >= 0 ? 'ahead of' : 'behind'} this machine (± ${Math.ceil(v.offset.rtt_ms / 2)} ms)`;
  return [`${sync}`, `reads ${when}${off}`];
}
