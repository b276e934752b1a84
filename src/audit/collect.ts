// Gathering what the audit judges, read-only: facts, plans, censuses, store catalogs and image records, hosts in parallel.
import { readCatalog } from '../backup/catalog.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { gatherFacts } from '../facts/gather.js';
import { readRecord } from '../images/record.js';
import { checkAll } from '../instances/check.js';
import type { Host, Inventory } from '../inventory/types.js';
import { planEstate } from '../provision/estate.js';
import { planAll } from '../provision/run.js';
import type { AuditInput } from './types.js';

/** Everything the audit needs from the selected hosts (stores and image replicas are read when their hosts are selected). */
export async function collectAudit(inv: Inventory, hosts: Host[], pool: ConnectionPool, now = new Date()): Promise<AuditInput> {
  const selected = new Set(hosts.map((h) => h.name));
  const stores = hosts.filter((h) => h.backup_store);
  const pairs = inv.images.filter((p) => selected.has(p.replica.host));
  const replicaOf = (name: string) => inv.hosts.find((h) => h.name === inv.images.find((p) => p.name === name)!.replica.host)!;
  const [facts, censuses, catalogs, images] = await Promise.all([
    fanOut(hosts, async (h) => gatherFacts(await pool.get(h))),
    checkAll(hosts.filter((h) => h.postgres), pool),
    fanOut(stores, async (s) => (await readCatalog(await pool.get(s), s)).entries),
    fanOut(pairs, async (p) => readRecord(await pool.get(replicaOf(p.name)), p.name)),
  ]);
  const reachable = hosts.filter((h) => facts.find((f) => f.host === h.name)?.ok);
  let linksError: string | null = null;
  const plans = await planEstate(inv, reachable, pool).catch((e: Error) => {
    linksError = e.message;
    return planAll(inv, reachable, pool); // each host's own plan still counts
  });
  return { inventory: inv, now, facts, plans, linksError, censuses, catalogs, images };
}
