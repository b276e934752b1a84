// Small pure helpers for audit findings: making one, and saying an age in words.
import type { Area, Finding, Level } from './types.js';

/** One audit line. */
export function finding(host: string, area: Area, subject: string, level: Level, message: string, details: string[] = []): Finding {
  return { host, area, subject, level, message, details };
}

/** An age in words a person reads at a glance: 42 s, 17 min, 5 h 10 min, 3 d 4 h. */
export function ageText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}
