// Names and words of restore-production (pure): what the database taken out of service is called, and what the
// report says about the time the restored data represents and what came after it.
import { UserError } from '../core/errors.js';

/** The kinds of database a restore keeps beside the live one: the damaged one it replaced, or (after a swap back) the
 *  restored one it took out again. */
export type KeptKind = 'damaged' | 'restored';

const STAMP = /^\d{8}T\d{4}(\d\d)?Z$/;

/** The UTC time as a name part: 20261202T2215Z, or with seconds 20261202T221507Z (pure). */
export function stamp(at: Date, seconds = false): string {
  const iso = at.toISOString(); // 2026-12-02T22:15:07.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${seconds ? iso.slice(17, 19) : ''}Z`;
}

/** Refuse a database whose kept names would not fit PostgreSQL's 63 bytes (it would cut them, and two could collide). */
export function checkKeptFits(database: string): void {
  const longest = `${database}__restored_${stamp(new Date(0), true)}`;
  if (Buffer.byteLength(longest) > 63)
    throw new UserError(`database name '${database}' is too long for restore-production: ${longest} (the name it may keep a database under) must fit PostgreSQL's 63 bytes, so at most ${63 - (Buffer.byteLength(longest) - Buffer.byteLength(database))} bytes`);
}

/** The name a database is kept under, `<db>__damaged_20261202T2215Z`: the minute, else the second when that minute's
 *  name is taken; refused when both are (pure). Never the name of a database that exists. */
export function keptName(database: string, kind: KeptKind, at: Date, taken: Set<string>): string {
  checkKeptFits(database);
  for (const seconds of [false, true]) {
    const name = `${database}__${kind}_${stamp(at, seconds)}`;
    if (!taken.has(name)) return name;
  }
  throw new UserError(`${database}__${kind}_${stamp(at, true)} already exists: wait a second and run again`);
}

/** Whether `name` is a database a restore kept for `database` (pure): only such a name is swapped back. */
export function isKeptName(database: string, name: string, kind: KeptKind): boolean {
  const prefix = `${database}__${kind}_`;
  return name.startsWith(prefix) && STAMP.test(name.slice(prefix.length));
}

/** A value read from a database (a table name, a time in a text column), made safe to print (pure): control characters
 *  (newlines, terminal escapes) become '?', and it is cut at 200 characters. */
export function printable(value: string): string {
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/** A span of seconds as words: 3 d 4 h, 5 h 12 min, 42 min, 30 s (pure). */
export function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** One table's rows in the backup and in the damaged database now. */
export interface TableChange {
  table: string;
  backup: number | null;
  now: number | null;
}

/** Tables whose rows differ between the backup's counts and the damaged database now, biggest change first (pure). */
export function tableChanges(backup: Record<string, number>, now: Record<string, number>): TableChange[] {
  const tables = [...new Set([...Object.keys(backup), ...Object.keys(now)])];
  const delta = (c: TableChange) => Math.abs((c.now ?? 0) - (c.backup ?? 0));
  return tables
    .map((table) => ({ table, backup: backup[table] ?? null, now: now[table] ?? null }))
    .filter((c) => c.backup !== c.now)
    .sort((a, b) => delta(b) - delta(a) || a.table.localeCompare(b.table));
}

/** What the damaged database showed when it was read, or why it could not be. */
export type Damaged =
  | { readable: true; database: string; host: string; changes: TableChange[]; events?: { table: string; after: number; newest: string | null } }
  | { readable: false; database: string; host: string; reason: string };

/** The report's lines: the time the restored data represents and what came after it (pure). `lost` is the one line the
 *  swap's confirmation repeats. */
export function lossReport(o: { id: string; time: string; newestEvent: string | null; eventsTable?: string; damaged: Damaged; now: Date }): { lines: string[]; lost: string } {
  const age = (o.now.getTime() - Date.parse(o.time)) / 1000;
  const lines = [
    `the restored data is backup ${o.id}, committed to the store at ${o.time} (${Number.isFinite(age) ? `${span(age)} ago` : 'age unknown'}; pg_dump's snapshot was taken before that)` +
      (o.eventsTable ? `; its newest event (${o.eventsTable}): ${o.newestEvent === null ? 'none, the table is empty' : printable(o.newestEvent)}` : ''),
  ];
  const d = o.damaged;
  const where = `${d.database} on ${d.host}`;
  let lost: string;
  if (!d.readable) {
    lost = `everything written after ${o.time} (${Number.isFinite(age) ? span(age) : 'an unknown time'} up to now): ${where} cannot be read`;
    lines.push(`${where} cannot be read (${d.reason}): everything written to it after ${o.time} is NOT in the restored data; recover it from other sources (application logs, other systems)`);
    return { lines, lost };
  }
  const ev = d.events;
  const grown = d.changes.filter((c) => (c.now ?? 0) > (c.backup ?? 0));
  const shrunk = d.changes.filter((c) => (c.now ?? 0) < (c.backup ?? 0));
  const fmt = (c: TableChange) => `${printable(c.table)} ${c.backup ?? 'absent'} -> ${c.now ?? 'absent'} (${(c.now ?? 0) - (c.backup ?? 0) > 0 ? '+' : ''}${(c.now ?? 0) - (c.backup ?? 0)})`;
  const newest = ev?.newest ? printable(ev.newest) : null;
  if (ev) lines.push(`after it, ${where} has ${ev.after} ${ev.table} rows newer than the backup's newest event${newest ? `, the newest at ${newest}` : ''}`);
  lines.push(d.changes.length ? `rows now in ${where} against the backup: ${d.changes.slice(0, 12).map(fmt).join(', ')}${d.changes.length > 12 ? `, and ${d.changes.length - 12} more tables` : ''}` : `${where} has exactly the backup's row counts`);
  if (grown.length || ev?.after) lines.push(`those newer rows are NOT in the restored data: the swap keeps ${d.database} beside it, under a name with its time, to take them from`);
  if (shrunk.length) lines.push(`fewer rows now in ${shrunk.map((c) => printable(c.table)).join(', ')}: rows deleted (the damage?) that the restore brings back`);
  lost = ev ? `${ev.after} ${ev.table} rows after the backup${newest ? ` (newest ${newest})` : ''}` : grown.length ? `rows added since: ${grown.slice(0, 5).map(fmt).join(', ')}` : 'no rows added since the backup';
  return { lines, lost };
}
