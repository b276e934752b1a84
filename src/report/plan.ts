// Human rendering of plans and apply results (pure), and their JSON shape from the CLI contract.
import { mask } from '../core/secrets.js';
import type { HostOutcome } from '../executor/fanout.js';
import type { Change } from '../operations/types.js';
import type { HostApply, } from '../provision/run.js';
import type { HostPlan } from '../provision/plan.js';

const indent = (text: string, by: string) => text.split('\n').map((l) => by + l).join('\n');

function changeLines(c: Change, sign: string, withDiff: boolean): string[] {
  const lines = [`  ${sign} ${c.operation.padEnd(9)} ${c.description}`];
  if (withDiff && c.diff) lines.push(indent(c.diff, '      '));
  return lines;
}

/** The plan as a person reads it: per host, each change with its diff, refusals loud. */
export function renderPlan(outcomes: HostOutcome<HostPlan>[]): string {
  const out: string[] = [];
  let total = 0;
  for (const o of outcomes) {
    if (!o.ok) {
      out.push(`${o.host}: FAILED  ${o.error.message}`);
      continue;
    }
    const p = o.value;
    const n = p.changes.length + p.deferred.length;
    total += n;
    out.push(`${p.host}: ${p.refusals.length ? 'REFUSED' : n ? `${n} change${n === 1 ? '' : 's'}` : 'no changes'}`);
    for (const r of p.refusals) out.push(`  ! ${r.operation.padEnd(9)} ${r.message}`);
    for (const c of p.changes) out.push(...changeLines(c, c.restart ? '~' : '+', true));
    // advice apply never acts on (a cluster without data checksums: enabling them needs downtime) is not 'once it runs'
    const advice = p.deferred.filter((c) => c.operation === 'checksums');
    const later = p.deferred.filter((c) => c.operation !== 'checksums');
    if (later.length) out.push('    once the cluster exists and runs:');
    for (const c of later) out.push(...changeLines(c, '+', true));
    for (const c of advice) out.push(`  ! ${c.operation.padEnd(9)} NOT DONE BY APPLY: ${c.description}`);
  }
  out.push(`plan: ${total} change${total === 1 ? '' : 's'} on ${outcomes.length} host${outcomes.length === 1 ? '' : 's'}; nothing was written`);
  return mask(out.join('\n'));
}

/** `{hosts:[{host, changes:[{operation, description}], ...}]}` for --json. */
export function planJson(outcomes: HostOutcome<HostPlan>[]) {
  return {
    hosts: outcomes.map((o) =>
      o.ok
        ? { host: o.host, ok: o.value.refusals.length === 0, changes: [...o.value.changes, ...o.value.deferred].map(brief), refusals: o.value.refusals }
        : { host: o.host, ok: false, changes: [], error: mask(o.error.message) },
    ),
  };
}

function brief(c: Change) {
  return { operation: c.operation, description: mask(c.description), ...(c.diff ? { diff: mask(c.diff) } : {}), ...(c.restart ? { restart: true } : {}) };
}

/** What apply did, per host, with a summary line. */
export function renderApply(outcomes: HostOutcome<HostApply>[]): string {
  const out: string[] = [];
  for (const o of outcomes) {
    if (!o.ok) {
      out.push(`${o.host}: FAILED  ${o.error.message}`);
      continue;
    }
    const a = o.value;
    out.push(`${a.host}: ${a.refusals.length ? 'REFUSED' : a.applied.length ? `${a.applied.length} changed` : 'ok, nothing to change'}`);
    for (const r of a.refusals) out.push(`  ! ${r.operation.padEnd(9)} ${r.message}`);
    for (const c of a.applied) out.push(...changeLines(c, '+', false));
    for (const c of a.skipped) out.push(`  ~ ${c.operation.padEnd(9)} NOT DONE: ${c.description} (run apply --yes to allow the restart)`);
  }
  const ok = outcomes.filter((o) => o.ok && !o.value.refusals.length).length;
  const changed = outcomes.reduce((n, o) => n + (o.ok ? o.value.applied.length : 0), 0);
  out.push(`apply: ${changed} change${changed === 1 ? '' : 's'}; ${ok}/${outcomes.length} hosts converged`);
  return mask(out.join('\n'));
}

/** JSON of apply: the contract's {hosts:[{host, changes}]} where changes are what was applied. */
export function applyJson(outcomes: HostOutcome<HostApply>[]) {
  return {
    hosts: outcomes.map((o) =>
      o.ok
        ? { host: o.host, ok: o.value.refusals.length === 0 && o.value.skipped.length === 0, changes: o.value.applied.map(brief), skipped: o.value.skipped.map(brief), refusals: o.value.refusals }
        : { host: o.host, ok: false, changes: [], error: mask(o.error.message) },
    ),
  };
}
