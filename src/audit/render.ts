// The audit on a terminal: a summary line, then per host one line per finding with ok / WARN / FAIL in front.
import { plural } from '../facts/render.js';
import type { AuditReport, Level } from './types.js';

const MARK: Record<Level, string> = { ok: 'ok  ', warning: 'WARN', failure: 'FAIL' };
const COLOR: Record<Level, string> = { ok: '\x1b[32m', warning: '\x1b[33m', failure: '\x1b[31;1m' };

/** The summary line: counts of each level. */
export function summaryLine(r: AuditReport): string {
  const { ok, warning, failure } = r.counts;
  return `audit of ${r.inventory} at ${r.generated_at}: ${ok} ok, ${plural(warning, 'warning')}, ${plural(failure, 'failure')}${failure ? ' -- NOT OK' : ''}`;
}

/** The whole report as text; `color` adds ANSI colors (for a terminal). */
export function renderAudit(r: AuditReport, color = false): string {
  const paint = (level: Level, text: string) => (color ? `${COLOR[level]}${text}\x1b[0m` : text);
  const out = [summaryLine(r)];
  for (const h of r.hosts) {
    out.push('', `${h.host}: ${paint(h.level, h.level === 'ok' ? 'ok' : h.level.toUpperCase())}`);
    for (const f of h.findings) {
      out.push(`  ${paint(f.level, MARK[f.level])}  ${f.area.padEnd(9)} ${f.subject}: ${f.message}`);
      for (const d of f.details.slice(0, 12)) out.push(`          ${d}`);
      if (f.details.length > 12) out.push(`          ... and ${f.details.length - 12} more (--json has them all)`);
    }
  }
  return out.join('\n') + '\n';
}
