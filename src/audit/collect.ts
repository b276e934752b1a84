// Gathering what the audit judges, read-only: facts, plans, censuses, store catalogs and image records, hosts in parallel.
import { readCatalog } from '../backup/catalog.js';
import { fanOut, type HostOutcome } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { FACT_NAMES } from '../facts/registry.js';
import type { HostFacts } from '../facts/types.js';
import { readRecord } from '../images/record.js';
import { checkAll } from '../instances/check.js';
import { selectHosts } from '../inventory/load.js';
import type { Host, Inventory } from '../inventory/types.js';
import { planEstate } from '../provision/estate.js';
import { collectPitr } from '../pitr/audit-collect.js';
import { planHost, type HostPlan } from '../provision/plan.js';
import { gatherForPlan, rolePasswords } from '../provision/run.js';
import type { AuditInput } from './types.js';
import { measureClock } from '../facts/clock-offset.js';
import { tlsForHost, tlsSource } from '../tls/source.js';

/** Everything the audit needs from the selected hosts, their backup stores and their image replicas included. */
export async function collectAudit(inv: Inventory, hosts: Host[], pool: ConnectionPool, now = new Date()): Promise<AuditInput> {
  const selected = new Set(hosts.map((h) => h.name));
  // backups are judged from the stores and images from the replicas among the selected hosts: --limit contacts no
  // other host (a database host whose store is left out gets its backups marked as not judged)
  const stores = hosts.filter((h) => h.backup_store);
  const pairs = inv.images.filter((p) => selected.has(p.replica.host));
  // every fact and the cluster's state in one round trip per host, each host's plan made from them (no second read)
  const tls = await tlsSource(inv, 'preview');
  const [gathered, censuses, catalogs, images, clocks] = await Promise.all([
    fanOut(hosts, async (h) => {
      const { facts, state } = await gatherForPlan(await pool.get(h), h, FACT_NAMES);
      return { facts, plan: await fanOut([h], async () => planHost({ host: h, facts: facts.facts, state, passwords: rolePasswords(inv, h), tls: await tlsForHost(tls, h, facts.facts.tls, now) })) };
    }),
    checkAll(hosts.filter((h) => h.postgres), pool),
    fanOut(stores, async (s) => (await readCatalog(await pool.get(s), s)).entries),
    fanOut(pairs, async (p) => readRecord(await pool.get(selectHosts(inv, [p.replica.host])[0]), p.name)),
    fanOut(hosts, async (h) => measureClock(await pool.get(h))),
  ]);
  const facts = gathered.map((g): HostOutcome<HostFacts> => (g.ok ? { host: g.host, ok: true, value: g.value.facts } : g));
  const own = gathered.flatMap((g): HostOutcome<HostPlan>[] => (g.ok ? g.value.plan : [])); // a plan that failed is its own outcome
  const reachable = hosts.filter((h) => own.some((p) => p.host === h.name));
  const { hosts: plans, wiringError: linksError } = await planEstate(inv, reachable, pool, own); // each host's own plan counts
  const pitr = await collectPitr(inv, reachable, pool, now); // continuous archiving: windows and drills from the stores, slots from the database hosts
  return { inventory: inv, now, facts, plans, linksError, censuses, catalogs, images, tls, clocks, pitr };
}
