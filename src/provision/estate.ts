// The plan of a whole estate: each host's own changes plus the backup wiring between hosts (read-only).
import { planLinks } from '../backup/links.js';
import { planPitr } from '../pitr/apply.js';
import { planImageChecks } from '../images/check-apply.js';
import { mask } from '../core/secrets.js';
import type { HostOutcome } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { gateScript } from '../instances/gate.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import type { HostPlan } from './plan.js';
import { planAll } from './run.js';
import { tlsSource } from '../tls/source.js';

/** The single-instance gate each rendered backup job starts with. */
export const gate = (h: Host) => gateScript(h);

/** Add the backup wiring's changes to the hosts they belong to (hosts that failed stay failed). */
export function mergeChanges<T>(outcomes: HostOutcome<T>[], extra: Map<string, Change[]>, into: (value: T, changes: Change[]) => void): void {
  for (const [host, changes] of extra) {
    const o = outcomes.find((x) => x.host === host);
    if (o?.ok) into(o.value, changes);
  }
}

/** Every selected host's plan, and why the backup wiring between hosts could not be planned (null when it was). */
export interface EstatePlan {
  hosts: HostOutcome<HostPlan>[];
  wiringError: string | null;
}

/** What `plan` shows and `audit` calls drift: every selected host's plan, backup wiring included. The wiring failing
 *  (a host it needs is unreachable) leaves each host's own plan standing and is reported beside it. `own`: the hosts'
 *  own plans when the caller made them already (the audit, from the facts it gathered). */
export async function planEstate(inv: Inventory, hosts: Host[], pool: ConnectionPool, own?: HostOutcome<HostPlan>[]): Promise<EstatePlan> {
  const planned = own ?? (await planAll(inv, hosts, pool, await tlsSource(inv, 'preview')));
  const reached = hosts.filter((h) => planned.find((o) => o.host === h.name)?.ok);
  const merge = (plans: { host: string; changes: Change[] }[]) => mergeChanges(planned, new Map(plans.map((l) => [l.host, l.changes])), (p, c) => p.changes.push(...c));
  // the routine image checks (with keys of their own) do not depend on the backup wiring: one failing leaves the other
  const checksError = await attempt(async () => merge(await planImageChecks(inv, reached, pool)));
  const wiringError = await attempt(async () => {
    merge(await planLinks(inv, reached, pool, gate));
    merge(await planPitr(inv, reached, pool));
  });
  return { hosts: planned, wiringError: joinErrors(wiringError, checksError) };
}

/** Run a cross-host step; its failure as a masked message (null when it worked), so that the next step still runs. */
export async function attempt(step: () => Promise<unknown>): Promise<string | null> {
  try {
    await step();
    return null;
  } catch (e) {
    return mask((e as Error).message);
  }
}

/** The failures of several steps as one message (null when none failed). */
export const joinErrors = (...errors: (string | null)[]): string | null => errors.filter(Boolean).join('; ') || null;
