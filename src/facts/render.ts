// Human rendering of the facts report: per host a compact block, one labelled line (or a few) per fact.
import { humanBytes } from '../core/bytes.js';
import { renderCorruption } from './corruption.js';
import { renderIntegrity } from './integrity.js';
import { factDefs } from './registry.js';
import type { FactsReport, HostFactsReport } from './report.js';
import type { FactName, FactProblem, FactValues, SocketOwner } from './types.js';
import { clockRows } from './clock.js';
import { tlsRows } from './tls.js';

export { humanBytes }; // Bytes in binary units, one decimal: 1.5 GiB, 512 B (src/core/bytes.ts)

const LABEL = 12;


/** A labelled block: the label on the first line, the others aligned under it; `none` when empty. */
function block(label: string, rows: string[]): string[] {
  const shown = rows.length ? rows : ['none'];
  return shown.map((r, i) => `  ${(i === 0 ? label : '').padEnd(LABEL)}${r}`);
}

/** Join items with ', ' into rows no wider than `width` (an item longer than that gets its own row). */
export function wrapList(items: string[], width = 88): string[] {
  const rows: string[] = [];
  for (const item of items) {
    const last = rows.length ? rows[rows.length - 1] : undefined;
    if (last !== undefined && last.length + 2 + item.length <= width) rows[rows.length - 1] = `${last}, ${item}`;
    else rows.push(item);
  }
  return rows;
}

function owners(ps: SocketOwner[]): string {
  return ps.length ? ' ' + [...new Set(ps.map((p) => `${p.name}[${p.pid}]`))].join(',') : '';
}

/** A count with its noun: 1 change, 3 changes. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The rows of each fact, by name. */
const rowsOf: { [K in FactName]: (v: FactValues[K]) => string[] } = {
  os: (o) => [
    [o.pretty_name ?? o.id ?? 'unknown OS', o.kernel && `kernel ${o.kernel}`, o.hostname && `hostname ${o.hostname}`, o.systemd ? 'systemd' : `no systemd (pid 1: ${o.init ?? '?'})`]
      .filter(Boolean)
      .join(', '),
  ],
  postgres_packages: (ps) => wrapList(ps.filter((p) => p.installed).map((p) => `${p.name} ${p.version ?? ''}`.trim())),
  clusters: (cs) =>
    cs.map((c) => {
      const status = [c.status, ...c.flags].join(',');
      return `${c.version}/${c.cluster} port ${c.port ?? '?'} ${status} owner ${c.owner ?? '?'} ${c.data_directory ?? '?'}`;
    }),
  postgres_processes: (ps) => {
    const children = (pid: number): number => ps.filter((p) => p.ppid === pid).length;
    return ps.flatMap((p) =>
      p.role === 'postmaster'
        ? [`pid ${p.pid} port ${p.port ?? '?'} ${p.data_directory ?? '?'} (user ${p.user}, ${plural(children(p.pid), 'child', 'children')})`]
        : [],
    );
  },
  listeners: (ls) =>
    ls.map((l) => (l.kind === 'tcp' ? `tcp ${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}` : `unix ${l.path}`) + owners(l.processes)),
  disk: (ds) => ds.map((d) => `${d.mount} ${d.used_percent}% of ${humanBytes(d.size)} (${humanBytes(d.available)} free, ${d.type} ${d.filesystem})`),
  jobs: (j) => [
    ...j.cron_d.map((f) => `cron.d/${f.name} (${plural(f.lines.length, 'entry', 'entries')}${f.package ? `, from ${f.package}` : ''})`),
    ...(j.root_crontab.length ? [`root crontab (${plural(j.root_crontab.length, 'entry', 'entries')})`] : []),
    ...j.timers.map((t) => `timer ${t.unit}${t.next ? ` next ${t.next}` : ''}`),
  ],
  identity: (id) => {
    switch (id.state) {
      case 'absent':
        return ['not pinned'];
      case 'invalid':
        return [`INVALID: ${id.error}`];
      case 'present':
        return id.identities.map((i) => `${i.version}/${i.cluster} port ${i.port} ${i.data_directory} system_identifier ${i.system_identifier} (pinned ${i.pinned_at})`);
    }
  },
  production_marker: (m) => (m.present ? [`PRODUCTION${m.content ? `: ${m.content.split('\n')[0]}` : ''}`] : ['absent']),
  postgres_updates: (us) => {
    const pending = us.filter((u) => u.pending).map((u) => `${u.name} ${u.installed} -> ${u.candidate}`);
    return pending.length ? wrapList(pending) : us.length ? ['none pending'] : [];
  },
  backup_job: (j) => [
    ...(j.installed ? [`installed for ${j.host ?? '?'}: ${j.databases.join(', ') || 'no databases'}`] : []),
    ...(j.status ? [`last run ${j.status.time}: ${j.status.state}${j.status.state === 'ok' ? '' : ` (exit ${j.status.exit}): ${j.status.message}`}`] : []),
  ],
  integrity: renderIntegrity,
  corruption: renderCorruption,
  tls: tlsRows,
  clock: clockRows,
};

const labels: Record<FactName, string> = {
  os: 'os',
  postgres_packages: 'packages',
  clusters: 'clusters',
  postgres_processes: 'postmasters',
  listeners: 'listeners',
  disk: 'disk',
  jobs: 'jobs',
  identity: 'identity',
  production_marker: 'production',
  postgres_updates: 'updates',
  backup_job: 'backup job',
  integrity: 'integrity',
  corruption: 'corruption',
  tls: 'tls',
  clock: 'clock',
};

/** One line per problem. */
export function describeProblem(p: FactProblem): string {
  switch (p.kind) {
    case 'exit':
      return `${p.fact}: exit ${p.code}${p.stderr.trim() ? `: ${p.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
    case 'parse':
      return `${p.fact}: output not understood: ${p.message}`;
    case 'missing':
      return `${p.fact}: no output (the script was cut short)`;
  }
}

/** The block of one fact: its rows, or why it is unknown. */
function factLines<K extends FactName>(name: K, value: FactValues[K], absent: boolean): string[] {
  if (absent) return block(labels[name], [`unknown: ${factDefs[name].tool ?? 'its source'} not available`]);
  return block(labels[name], rowsOf[name](value));
}

/** The block of one host. */
export function renderHost(h: HostFactsReport): string {
  if (!h.ok) return `${h.host}: FAILED: ${h.error}\n`;
  const out = [`${h.host}:`];
  for (const name of Object.keys(labels) as FactName[]) {
    const value = h.facts[name];
    if (value !== undefined) out.push(...factLines(name, value, h.absent.includes(name)));
  }
  if (h.problems.length) out.push(...block('problems', h.problems.map(describeProblem)));
  return out.join('\n') + '\n';
}

/** Every host's block, separated by blank lines, and a summary line when some failed. */
export function renderReport(report: FactsReport): string {
  const failed = report.hosts.filter((h) => !h.ok).length;
  const summary = failed ? `\n${plural(failed, 'host')} of ${report.hosts.length} failed\n` : '';
  return report.hosts.map(renderHost).join('\n') + summary;
}
