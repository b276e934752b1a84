// Gathering what the audit judges, read-only: facts, plans, censuses, store catalogs and image records, hosts in parallel.
import { readCatalog } from '../backup/catalog.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { gatherFacts } from '../facts/gather.js';
import { readRecord } from '../images/record.js';
import { checkAll } from '../instances/check.js';
import { selectHosts } from '../inventory/load.js';
import type { Host, Inventory } from '../inventory/types.js';
import { planEstate } from '../provision/estate.js';
import type { AuditInput } from './types.js';

/** Everything the audit needs from the selected hosts, their backup stores and their image replicas included. */
export async function collectAudit(inv: Inventory, hosts: Host[], pool: ConnectionPool, now = new Date()): Promise<AuditInput> {
  const selected = new Set(hosts.map((h) => h.name));
  // backups are judged from the stores and images from the replicas among the selected hosts: --limit contacts no
  // other host (a database host whose store is left out gets its backups marked as not judged)
  const stores = hosts.filter((h) => h.backup_store);
  const pairs = inv.images.filter((p) => selected.has(p.replica.host));
  const [facts, censuses, catalogs, images] = await Promise.all([
    fanOut(hosts, async (h) => gatherFacts(await pool.get(h))),
    checkAll(hosts.filter((h) => h.postgres), pool),
    fanOut(stores, async (s) => (await readCatalog(await pool.get(s), s)).entries),
    fanOut(pairs, async (p) => readRecord(await pool.get(selectHosts(inv, [p.replica.host])[0]), p.name)),
  ]);
  const reachable = hosts.filter((h) => facts.find((f) => f.host === h.name)?.ok);
  const { hosts: plans, wiringError: linksError } = await planEstate(inv, reachable, pool); // each host's own plan counts
  return { inventory: inv, now, facts, plans, linksError, censuses, catalogs, images };
}
