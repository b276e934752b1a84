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
import { planAll } from '../provision/run.js';
import type { AuditInput } from './types.js';

/** Everything the audit needs from the selected hosts, their backup stores and their image replicas included. */
export async function collectAudit(inv: Inventory, hosts: Host[], pool: ConnectionPool, now = new Date()): Promise<AuditInput> {
  const selected = new Set(hosts.map((h) => h.name));
  // a selected database host's backups are judged from its store, and a selected image source from its replica
  const storeNames = new Set([...hosts.filter((h) => h.backup_store).map((h) => h.name), ...hosts.flatMap((h) => (h.backup ? [h.backup.to] : []))]);
  const stores = inv.hosts.filter((h) => storeNames.has(h.name));
  const pairs = inv.images.filter((p) => selected.has(p.replica.host) || selected.has(p.source.host));
  const [facts, censuses, catalogs, images] = await Promise.all([
    fanOut(hosts, async (h) => gatherFacts(await pool.get(h))),
    checkAll(hosts.filter((h) => h.postgres), pool),
    fanOut(stores, async (s) => (await readCatalog(await pool.get(s), s)).entries),
    fanOut(pairs, async (p) => readRecord(await pool.get(selectHosts(inv, [p.replica.host])[0]), p.name)),
  ]);
  const reachable = hosts.filter((h) => facts.find((f) => f.host === h.name)?.ok);
  let linksError: string | null = null;
  const plans = await planEstate(inv, reachable, pool).catch((e: Error) => {
    linksError = e.message;
    return planAll(inv, reachable, pool); // each host's own plan still counts
  });
  return { inventory: inv, now, facts, plans, linksError, censuses, catalogs, images };
}
