// Small pure helpers shared by the fact parsers.
import type { Part, Section } from './types.js';

/** Non-blank lines of a text, without trailing carriage returns. */
export function lines(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
}

/** The text of the named part of a section, or undefined when the command did not open it. */
export function partText(section: Section, name: string): string | undefined {
  return section.parts.find((p: Part) => p.name === name)?.text;
}

/** The first line of a part, trimmed; null when the part is missing or empty. */
export function partLine(section: Section, name: string): string | null {
  const text = partText(section, name);
  if (text === undefined) return null;
  return lines(text)[0]?.trim() || null;
}

/** An integer, or null for anything else. */
export function toInt(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const s = String(value).trim();
  return /^-?\d+$/.test(s) ? Number(s) : null;
}

/** Shell-style KEY=value lines (os-release): unquoted, double-quoted or single-quoted values. */
export function parseAssignments(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines(text)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(["\\$`])/g, '$1');
    else if (v.startsWith("'") && v.endsWith("'") && v.length >= 2) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

/** Lines of a crontab-like file that are entries: no blank lines, no comments. */
export function entryLines(text: string): string[] {
  return lines(text).filter((l) => !/^\s*#/.test(l));
}
