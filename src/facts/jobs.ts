// The `jobs` fact: /etc/cron.d files, root's crontab, and systemd timers when systemd runs.
import { entryLines, lines, partText } from './text.js';
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

/** Parse `dpkg -S FILE...` (`pkg[, pkg]: /path` per line): the owning package of each /etc/cron.d file by name. */
export function parseOwners(text: string | undefined): Map<string, string> {
  const owners = new Map<string, string>();
  for (const line of lines(text ?? '')) {
    const m = /^(.+?): \/etc\/cron\.d\/(.+)$/.exec(line);
    if (m) owners.set(m[2], m[1]);
  }
  return owners;
}

/** Parts named `cron.d/FILE` become files, `owners` their packages, `crontab` the root crontab, `timers` the timer list. */
export function parseJobs(section: Section): JobsFact {
  const owners = parseOwners(partText(section, 'owners'));
  const cron_d: CronFile[] = section.parts
    .filter((p) => p.name.startsWith('cron.d/'))
    .map((p) => {
      const name = p.name.slice('cron.d/'.length);
      return { name, lines: entryLines(p.text), package: owners.get(name) ?? null };
    });
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
if command -v dpkg >/dev/null 2>&1; then ic_part owners; dpkg -S /etc/cron.d/* 2>/dev/null; fi
ic_part crontab
if command -v crontab >/dev/null 2>&1; then crontab -l -u root 2>/dev/null; else cat /var/spool/cron/crontabs/root 2>/dev/null; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  ic_part timers; systemctl list-timers --all --no-legend --no-pager
fi
true`,
  parse: parseJobs,
  absent: () => ({ cron_d: [], root_crontab: [], timers: [] }),
};
