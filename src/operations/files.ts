// Rendered configuration files: ironclad's own conf.d file and a managed block in pg_hba.conf.
import { shq } from '../core/quote.js';
import type { HbaRule, PostgresSpec } from '../inventory/types.js';
import { lineDiff } from './diff.js';
import type { Change } from './types.js';
import { tlsSettings } from './tls.js';

const HEADER = '# Managed by ironclad: edits here are overwritten by `ironclad apply`; change the inventory instead.';
export const HBA_BEGIN = '# BEGIN ironclad managed block';
export const HBA_END = '# END ironclad managed block';

function confValue(v: string | number | boolean): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'number') return String(v);
  return `'${v.replace(/'/g, "''")}'`;
}

/** The text of conf.d/ironclad.conf for a cluster spec. */
export function renderConf(pg: PostgresSpec): string {
  const lines = [HEADER];
  if (pg.listen?.length) lines.push(`listen_addresses = ${confValue(pg.listen.join(','))}`);
  for (const [k, v] of Object.entries({ ...tlsSettings(pg), ...(pg.settings ?? {}) }).sort(([a], [b]) => a.localeCompare(b))) lines.push(`${k} = ${confValue(v)}`);
  return lines.join('\n') + '\n';
}

/** Setting names (lower-case) whose rendered value differs between two conf texts. */
export function changedSettings(before: string | null, after: string): string[] {
  const parse = (t: string | null) =>
    new Map((t ?? '').split('\n').filter((l) => /^\s*[a-z_.]+\s*=/.test(l)).map((l) => [l.split('=')[0].trim(), l.slice(l.indexOf('=') + 1).trim()] as const));
  const a = parse(before);
  const b = parse(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k));
}

/** The conf.d file change, if the rendered text differs from the host's. */
export function confChange(current: string | null, pg: PostgresSpec, path: string): Change | undefined {
  const text = renderConf(pg);
  const diff = lineDiff(current, text, path);
  if (!diff) return undefined;
  const keys = changedSettings(current, text);
  return {
    operation: 'settings',
    description: `write ${path}${keys.length ? ` (${keys.join(', ')})` : ''}`,
    diff,
    commands: [
      { kind: 'sh', script: `runuser -u postgres -- mkdir -p ${shq(path.replace(/\/[^/]+$/, ''))}` },
      { kind: 'upload', path, content: text, mode: '644', as: 'postgres' },
    ],
  };
}

function hbaLine(r: HbaRule): string {
  return [r.type, r.database, r.user, ...(r.type === 'local' ? [] : [r.address ?? '']), r.method].join('\t');
}

/** pg_hba.conf with the managed block replaced (or appended); text outside the block is kept as it is. */
export function renderHba(current: string, rules: HbaRule[]): string {
  const block = [HBA_BEGIN, ...rules.map(hbaLine), HBA_END].join('\n');
  const lines = current.replace(/\n$/, '').split('\n');
  const start = lines.indexOf(HBA_BEGIN);
  const end = lines.indexOf(HBA_END);
  if (start >= 0 && end > start) return [...lines.slice(0, start), block, ...lines.slice(end + 1)].join('\n') + '\n';
  return (current.replace(/\n*$/, '\n\n') + block + '\n').replace(/^\n+/, '');
}

/** The pg_hba.conf change when the managed block differs; undefined when the file does not exist yet (no cluster). */
export function hbaChange(current: string | null, pg: PostgresSpec, path: string): Change | undefined {
  if (current === null && !(pg.hba?.length)) return undefined;
  const base = current ?? '';
  const text = renderHba(base, pg.hba ?? []);
  const diff = lineDiff(current, text, path);
  if (!diff) return undefined;
  return {
    operation: 'pg_hba',
    description: `update the managed block of ${path} (${pg.hba?.length ?? 0} rules)`,
    diff,
    commands: [{ kind: 'upload', path, content: text, mode: '640', as: 'postgres' }],
  };
}
