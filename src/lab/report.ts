// Human-readable output of `lab up`, `lab down` and `lab status` (pure).
import type { LabUpResult } from './build.js';
import type { LabDownResult } from './down.js';
import type { LabStatus } from './status.js';

/** Lay out rows as left-aligned columns. */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** `lab status`: the bridge, then one row per host with what is wrong. */
export function formatStatus(s: LabStatus): string {
  const head = `bridge ${s.bridge.name} ${s.bridge.gateway} (${s.bridge.subnet}): ${s.bridge.up ? 'up' : 'down'}\n`;
  const rows = [['HOST', 'STATE', 'PID', 'ADDRESS', 'SSH', 'PROBLEMS']];
  for (const h of s.hosts)
    rows.push([h.host, h.state, h.pid === null ? '-' : String(h.pid), h.address, h.ssh ? 'ok' : 'no', h.state === 'down' ? '' : h.problems.join('; ')]);
  return head + columns(rows);
}

/** `lab up`: what was done per host and how long it took. */
export function formatUp(r: LabUpResult): string {
  const rows = [['HOST', 'ACTION', 'PID', 'ADDRESS']];
  for (const h of r.hosts) rows.push([h.host, h.action === 'none' ? 'already up' : h.action, String(h.pid), h.address]);
  const changed = r.hosts.filter((h) => h.action !== 'none').length;
  const bridge = r.bridge.action === 'created' ? `bridge ${r.bridge.name} created\n` : '';
  return bridge + columns(rows) + `${changed ? `${changed} host${changed > 1 ? 's' : ''} booted` : 'nothing to do'} in ${(r.durationMs / 1000).toFixed(1)}s\n`;
}

/** `lab down`: what was stopped and removed. */
export function formatDown(r: LabDownResult): string {
  const lines = r.hosts.map((h) => `${h.host}: ${h.killed.length ? `stopped (init pid ${h.killed.join(', ')})` : 'was not running'}`);
  if (r.bridge.removed) lines.push(`bridge ${r.bridge.name} removed`);
  lines.push(r.wiped ? 'host disks removed (the lab key is kept)' : 'host disks kept');
  return lines.join('\n') + `\ndone in ${(r.durationMs / 1000).toFixed(1)}s\n`;
}
