// The `jobs` fact: /etc/cron.d files, root's crontab, and systemd timers when systemd runs.
import { entryLines, lines } from './text.js';
import type { CronFile, FactDef, JobsFact, Section, TimerFact } from './types.js';

const WHEN = /^(n\/a|-|\w{3} \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \S+)\s+/;
const AGO = /^(n\/a|-|.+? (?:left|ago))\s+/;

/** Take a leading match off a string: [matched group, rest]. */
function take(re: RegExp, s: string): [string | null, string] {
  const m = re.exec(s);
  return m ? [m[1], s.slice(m[0].length)] : [null, s];
}

/** Parse `systemctl list-timers --all --no-legend`: NEXT LEFT LAST PASSED UNIT ACTIVATES (times may be n/a). */
export function parseTimers(text: string): TimerFact[] {
  return lines(text).flatMap((line): TimerFact[] => {
    const words = line.trim().split(/\s+/);
    const unitAt = words.findIndex((w) => w.endsWith('.timer'));
    if (unitAt < 0) return [];
    const [next, r1] = take(WHEN, words.slice(0, unitAt).join(' ') + ' ');
    const [, r2] = take(AGO, r1);
    const [last] = take(WHEN, r2);
    const known = (v: string | null): string | null => (v === null || v === 'n/a' || v === '-' ? null : v);
    return [{ unit: words[unitAt], activates: words[unitAt + 1] ?? null, next: known(next), last: known(last) }];
  });
}

/** Parts named `cron.d/FILE` become files, `crontab` the root crontab, `timers` the timer list. */
export function parseJobs(section: Section): JobsFact {
  const cron_d: CronFile[] = section.parts
    .filter((p) => p.name.startsWith('cron.d/'))
    .map((p) => ({ name: p.name.slice('cron.d/'.length), lines: entryLines(p.text) }));
  const crontab = section.parts.find((p) => p.name === 'crontab');
  const timers = section.parts.find((p) => p.name === 'timers');
  return { cron_d, root_crontab: crontab ? entryLines(crontab.text) : [], timers: timers ? parseTimers(timers.text) : [] };
}

/** Always present (an empty /etc/cron.d is a valid answer); crontab -l when cron is installed, else the spool file. */
export const jobsFact: FactDef<JobsFact> = {
  name: 'jobs',
  tool: null,
  command: `
for f in /etc/cron.d/*; do
  [ -f "$f" ] || continue
  ic_part "cron.d/\${f##*/}"; cat "$f"
done
ic_part crontab
if command -v crontab >/dev/null 2>&1; then crontab -l -u root 2>/dev/null; else cat /var/spool/cron/crontabs/root 2>/dev/null; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  ic_part timers; systemctl list-timers --all --no-legend --no-pager
fi
true`,
  parse: parseJobs,
  absent: () => ({ cron_d: [], root_crontab: [], timers: [] }),
};
