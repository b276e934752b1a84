// Plan and apply over the inventory's hosts: gather facts, plan, execute in rounds until nothing is left to do.
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { resolveSecret } from '../core/secrets.js';
import { joinSql, runCommands } from '../executor/run.js';
import { fanOut, type HostOutcome } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { clusterStateFact, type ClusterState } from '../facts/cluster-state.js';
import { gatherFacts, gatherFactsWith } from '../facts/gather.js';
import type { FactName, HostFacts } from '../facts/types.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change, Refusal } from '../operations/types.js';
import { planHost, type HostPlan } from './plan.js';
import { tlsForHost, type TlsSource } from '../tls/source.js';

const PLAN_FACTS = ['os', 'postgres_packages', 'clusters', 'identity', 'production_marker', 'integrity', 'tls'] as const;
type PlanFact = (typeof PLAN_FACTS)[number];

/** Resolve the passwords of a host's roles (only now, when needed); masked from here on. */
export function rolePasswords(inv: Inventory, host: Host): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of host.postgres?.roles ?? []) if (r.password) out.set(r.name, resolveSecret(r.password, inv.dir));
  return out;
}

/** What the planner reads of a host (and any other facts asked), in one round trip: facts and its cluster's state. */
export async function gatherForPlan<N extends FactName>(conn: Connector, host: Host, also: readonly N[] = []): Promise<{ facts: HostFacts<N | PlanFact>; state: ClusterState | null }> {
  const names = [...new Set<N | PlanFact>([...PLAN_FACTS, ...also])];
  const pg = host.postgres;
  if (!pg) return { facts: await gatherFacts(conn, names), state: null };
  const g = await gatherFactsWith(conn, names, { fact: clusterStateFact, args: pg });
  return { facts: g.facts, state: g.value };
}

/** Gather what the planner needs in one round trip and plan one host (read-only). */
export async function planOne(conn: Connector, host: Host, passwords: Map<string, string>, created = false, tls?: TlsSource): Promise<HostPlan> {
  const { facts, state } = await gatherForPlan(conn, host);
  return planHost({ host, facts: facts.facts, state, passwords, created, tls: await tlsForHost(tls, host, facts.facts.tls) });
}

/** Plan every host in parallel; a host that fails is reported, the others go on. */
export function planAll(inv: Inventory, hosts: Host[], pool: ConnectionPool, tls?: TlsSource): Promise<HostOutcome<HostPlan>[]> {
  return fanOut(hosts, async (h) => planOne(await pool.get(h), h, rolePasswords(inv, h), false, tls));
}

/** What apply did on one host. */
export interface HostApply {
  host: string;
  applied: Change[];
  skipped: Change[]; // restarts not confirmed
  refusals: Refusal[];
}

/** Converge one host: plan, run what can run now, plan again (a new cluster makes more changes possible), at most 4
 *  rounds: a new host takes three (the cluster; its files, start, roles and databases; nothing left). */
export async function applyOne(args: { conn: Connector; host: Host; passwords: Map<string, string>; confirmRestart: boolean; tls?: TlsSource }): Promise<HostApply> {
  const { conn, host, passwords, confirmRestart, tls } = args;
  const out: HostApply = { host: host.name, applied: [], skipped: [], refusals: [] };
  for (let round = 0; round < 4; round++) {
    const plan = await planOne(conn, host, passwords, out.applied.some((c) => c.operation === 'cluster'), tls);
    if (plan.refusals.length) {
      out.refusals = plan.refusals;
      return out;
    }
    const runnable = plan.changes.filter((c) => !c.restart || confirmRestart);
    out.skipped = plan.changes.filter((c) => c.restart && !confirmRestart);
    if (!runnable.length) return out;
    await runCommands(conn, joinSql(runnable.flatMap((c) => c.commands)));
    out.applied.push(...runnable);
    for (const c of out.skipped) await runCommands(conn, c.unconfirmed ?? []);
  }
  // four rounds and still changing: a change that does not take (a server that never comes up) is a failure
  const left = (await planOne(conn, host, passwords, out.applied.some((c) => c.operation === 'cluster'), tls)).changes.filter((c) => !c.restart || confirmRestart);
  if (left.length) throw new OperationError(`${host.name}: still not converged after 4 rounds; left: ${left.map((c) => c.description).join('; ')}`);
  return out;
}
