// The `check instances` report: the --json document of the CLI contract, the human text, the exit code (pure).
import { mask } from '../core/secrets.js';
import type { HostOutcome } from '../executor/fanout.js';
import type { CensusExpectation, CensusInstance, HostCensus } from './types.js';

/** One host in `check instances --json`; `error` only when the host could not be censused. */
export interface HostCensusJson {
  host: string;
  ok: boolean;
  instances: CensusInstance[];
  problems: string[];
  notes: string[];
  expected: CensusExpectation[];
  error?: string;
}

/** `{hosts:[{host, ok, instances:[{port, data_directory, pid, system_identifier, ...}], problems:[string], ...}]}`. */
export function censusJson(outcomes: HostOutcome<HostCensus>[]): { hosts: HostCensusJson[] } {
  return {
    hosts: outcomes.map((o): HostCensusJson => {
      if (!o.ok) return { host: o.host, ok: false, instances: [], problems: [], notes: [], expected: [], error: mask(o.error.message) };
      const c = o.value;
      return { host: c.host, ok: c.ok, instances: c.instances, problems: c.problems.map(mask), notes: c.notes.map(mask), expected: c.expected };
    }),
  };
}

/** 1 when a host could not be censused, else 3 when any host has a problem, else 0. */
export function censusExitCode(outcomes: HostOutcome<HostCensus>[]): number {
  if (outcomes.some((o) => !o.ok)) return 1;
  return outcomes.some((o) => o.ok && !o.value.ok) ? 3 : 0;
}

/** One instance on one line: port, pid, data directory, identity, and what it is. */
export function instanceLine(i: CensusInstance): string {
  const restore = i.restore_of && `a restore of ${i.restore_of.host} at ${i.restore_of.target === 'latest' ? 'the end of its archive' : i.restore_of.target}`;
  const what = i.expected_as ? `${i.expected_as} (expected)` : i.container ? `in ${i.container}` : restore ? `${i.cluster ? `cluster ${i.cluster}, ` : ''}${restore}` : i.cluster ? `cluster ${i.cluster}, NOT IN THE INVENTORY` : 'NOT IN THE INVENTORY';
  const parts = [
    `port ${i.port ?? '?'}`,
    `pid ${i.pid ?? '?'}`,
    i.data_directory ?? 'data directory unknown',
    `system identifier ${i.system_identifier ?? 'unknown'}`,
    what,
    `seen by ${i.sources.join(', ') || 'nothing'}`,
  ];
  return parts.join('  ');
}

/** The census as a person reads it: per host its verdict, instances, problems (loud) and notes. */
export function renderCensus(outcomes: HostOutcome<HostCensus>[]): string {
  const out: string[] = [];
  let clean = 0;
  let bad = 0;
  let failed = 0;
  for (const o of outcomes) {
    if (!o.ok) {
      failed++;
      out.push(`${o.host}: FAILED  ${o.error.message}`);
      continue;
    }
    const c = o.value;
    if (c.ok) clean++;
    else bad++;
    const n = c.problems.length;
    out.push(`${c.host}: ${c.ok ? 'ok' : `${n} PROBLEM${n === 1 ? '' : 'S'}`}`);
    for (const i of c.instances) out.push(`    ${instanceLine(i)}`);
    if (!c.instances.length) out.push('    no PostgreSQL running');
    for (const p of c.problems) out.push(`  ! ${p}`);
    for (const note of c.notes) out.push(`    note: ${note}`);
  }
  const summary = [`${clean} clean`, bad ? `${bad} with problems` : '', failed ? `${failed} could not be checked` : ''].filter(Boolean).join(', ');
  out.push(`check instances: ${outcomes.length} host${outcomes.length === 1 ? '' : 's'}: ${summary}`);
  return mask(out.join('\n'));
}
