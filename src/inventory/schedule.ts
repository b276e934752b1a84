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

/** Parse the supported subset of OnCalendar: [Weekday[,..]] [*|YYYY]-MM-DD HH:MM[:SS]; fields are *, N, N,M, N..M or x/step. */
export function parseSchedule(text: string): Schedule {
  const expr = shorthands[text.trim().toLowerCase()] ?? text.trim();
  const parts = expr.split(/\s+/);
  let dow = '*';
  if (parts.length === 3 || (parts.length === 2 && /^[A-Za-z]/.test(parts[0]))) {
    const d = weekdays(parts.shift()!);
    if (d === undefined) return { ok: false, error: `unknown weekday in '${text}' (use Mon..Sun)` };
    dow = d;
  }
  if (parts.length === 1) parts.unshift('*-*-*');
  if (parts.length !== 2) return { ok: false, error: `'${text}' is not an OnCalendar expression like '*-*-* 02:15:00'` };
  const date = parts[0].split('-');
  const time = parts[1].split(':');
  if (date.length !== 3 || time.length < 2 || time.length > 3)
    return { ok: false, error: `'${text}' is not an OnCalendar expression like '*-*-* 02:15:00'` };
  const [year, month, dom] = date;
  const [hour, minute, second = '00'] = time;
  if (year !== '*') return { ok: false, error: `a year in '${text}' cannot be scheduled repeatedly; use '*'` };
  if (!/^0?0$/.test(second)) return { ok: false, error: `seconds in '${text}' must be 00 (cron has minute resolution)` };
  const fields = [
    field(minute, 0, 59),
    field(hour, 0, 23),
    field(dom, 1, 31),
    field(month, 1, 12),
  ];
  const bad = fields.findIndex((f) => f === undefined);
  if (bad >= 0) return { ok: false, error: `'${[minute, hour, dom, month][bad]}' in '${text}' is out of range or malformed` };
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
    if (step !== undefined && Number(step) < 1) return undefined;
    let cron = start === '*' ? '*' : String(Number(start));
    if (end !== undefined) cron += `-${Number(end)}`;
    else if (step !== undefined && start !== '*') cron += `-${max}`;
    if (step !== undefined) cron += `/${Number(step)}`;
    out.push(cron);
  }
  return out.join(',');
}

function weekdays(text: string): string | undefined {
  const out: string[] = [];
  for (const item of text.toLowerCase().split(',')) {
    const [a, b] = item.split('..').map((d) => days.indexOf(d.slice(0, 3)));
    if (a < 0 || (b !== undefined && b < 0)) return undefined;
    out.push(b === undefined ? String(a) : `${a}-${b}`);
  }
  return out.join(',');
}

/** Parse a duration like 36h, 90m, 2d, 45s into seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
