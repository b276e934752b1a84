// systemd OnCalendar expressions (the inventory's backup.schedule) and their cron equivalent for hosts without systemd.

export type Schedule = { ok: true; onCalendar: string; cron: string } | { ok: false; error: string };

const shorthands: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
};
const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const dayNames = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const examples = "write a systemd OnCalendar expression such as '*-*-* 02:15:00' (every day at 02:15), 'Mon..Fri 02:15' or 'daily'";

/** Parse the supported subset of OnCalendar: [Weekday[,..]] [*-]MM-DD HH:MM[:SS]; fields are *, N, N,M, N..M or x/step. */
export function parseSchedule(text: string): Schedule {
  const fail = (reason: string): Schedule => ({ ok: false, error: `'${text}' is not a schedule ironclad understands: ${reason}; ${examples}` });
  const expr = shorthands[text.trim().toLowerCase()] ?? text.trim();
  if (!expr) return fail('it is empty');
  const parts = expr.split(/\s+/);
  if (parts.length > 3) return fail('expected at most three parts: [WEEKDAYS] [DATE] TIME');
  let dow = '*';
  if (/^[A-Za-z]/.test(parts[0])) {
    const d = weekdays(parts[0]);
    if (d === undefined) return fail(`'${parts[0]}' is not a weekday (Mon..Sun)`);
    dow = d;
    parts.shift();
  }
  if (parts.length === 1) parts.unshift('*-*-*');
  if (parts.length !== 2) return fail('expected a date and a time after the weekdays');
  const date = parts[0].split('-');
  const time = parts[1].split(':');
  if (date.length === 2) date.unshift('*');
  if (date.length !== 3) return fail(`'${parts[0]}' is not a date like *-*-* or *-*-01`);
  if (time.length < 2 || time.length > 3) return fail(`'${parts[1]}' is not a time like 02:15 or 02:15:00`);
  const [year, month, dom] = date;
  const [hour, minute, second = '00'] = time;
  if (year !== '*') return fail(`a fixed year (${year}) would run only once; use '*'`);
  if (!/^0?0$/.test(second)) return fail('seconds must be 00 (cron runs at most once a minute)');
  const named: [string, string, number, number][] = [
    ['minute', minute, 0, 59],
    ['hour', hour, 0, 23],
    ['day of month', dom, 1, 31],
    ['month', month, 1, 12],
  ];
  const fields: string[] = [];
  for (const [name, value, min, max] of named) {
    const f = field(value, min, max);
    if (f === undefined) return fail(`${name} '${value}' is malformed or out of range (${min}..${max})`);
    fields.push(f);
  }
  return { ok: true, onCalendar: expr, cron: `${fields.join(' ')} ${dow}` };
}

function field(text: string, min: number, max: number): string | undefined {
  const out: string[] = [];
  for (const item of text.split(',')) {
    const m = /^(\*|\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/.exec(item);
    if (!m) return undefined;
    const [, start, end, step] = m;
    const nums = [start, end].filter((x) => x !== undefined && x !== '*').map(Number);
    if (nums.some((n) => n < min || n > max)) return undefined;
    if (start === '*' && end !== undefined) return undefined;
    if (end !== undefined && Number(end) < Number(start)) return undefined;
    if (step !== undefined && Number(step) < 1) return undefined;
    let cron = start === '*' ? '*' : String(Number(start));
    if (end !== undefined) cron += `-${Number(end)}`;
    else if (step !== undefined && start !== '*') cron += `-${max}`;
    if (step !== undefined) cron += `/${Number(step)}`;
    out.push(cron);
  }
  return out.join(',');
}

function dayIndex(text: string): number {
  const t = text.toLowerCase();
  const i = days.indexOf(t);
  return i >= 0 ? i : dayNames.indexOf(t);
}

/** Mon,Wed..Fri -> 1,3-5; a range that wraps the week (Fri..Mon) -> 5-6,0-1. */
function weekdays(text: string): string | undefined {
  const out: string[] = [];
  for (const item of text.split(',')) {
    const ends = item.split('..');
    if (ends.length > 2) return undefined;
    const [a, b] = ends.map(dayIndex);
    if (a < 0 || (b !== undefined && b < 0)) return undefined;
    if (b === undefined || a === b) out.push(String(a));
    else if (a < b) out.push(`${a}-${b}`);
    else out.push(a === 6 ? '6' : `${a}-6`, b === 0 ? '0' : `0-${b}`);
  }
  return out.join(',');
}

/** Parse a duration like 36h, 90m, 2d, 45s into seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** The values a cron field (as parseSchedule writes it: a star, N, N-M, star-slash-S, N-M/S, comma lists) allows. */
function cronValues(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const [range, step = '1'] = item.split('/');
    const [a, b] = range === '*' ? [min, max] : range.split('-').map(Number);
    for (let v = a; v <= (b ?? a); v += Number(step)) out.add(v);
  }
  return out;
}

/**
 * The most recent `count` times (newest first, UTC, whole minutes, at or before `now`) at which a cron line
 * from parseSchedule fires; fewer when none fires within `horizonDays`. Used to judge whether backups are fresh.
 */
export function lastRuns(cron: string, now: Date, count: number, horizonDays = 400): Date[] {
  const [mi, ho, dom, mo, dow] = cron.trim().split(/\s+/);
  const sets = { mi: cronValues(mi, 0, 59), ho: cronValues(ho, 0, 23), dom: cronValues(dom, 1, 31), mo: cronValues(mo, 1, 12), dow: cronValues(dow, 0, 6) };
  // cron: when both day fields are restricted, a day matching either one fires
  const dayMatches = (d: Date) => {
    const byDom = sets.dom.has(d.getUTCDate());
    const byDow = sets.dow.has(d.getUTCDay());
    if (dom !== '*' && dow !== '*') return byDom || byDow;
    return dom !== '*' ? byDom : dow !== '*' ? byDow : true;
  };
  const out: Date[] = [];
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const times = [...sets.ho].flatMap((h) => [...sets.mi].map((m) => h * 60 + m)).sort((a, b) => b - a);
  for (let i = 0; i <= horizonDays && out.length < count; i++, day.setUTCDate(day.getUTCDate() - 1)) {
    if (!sets.mo.has(day.getUTCMonth() + 1) || !dayMatches(day)) continue;
    for (const minutes of times) {
      const at = new Date(day.getTime() + minutes * 60_000);
      if (at <= now && out.length < count) out.push(at);
    }
  }
  return out;
}
