// What the audit reads of continuous archiving (read-only): each store's windows and each archiving database host's
// slot, for judgePitr. All host access is here; only the reachable hosts given are contacted.
import type { Finding } from '../audit/types.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import type { Host, Inventory } from '../inventory/types.js';
import { judgePitr, type PitrAuditInput } from './audit.js';
import { archivingClients, PITR_PATHS, pitrOf } from './render.js';
import { gatherDbState } from './state.js';
import { parseStatus, type ClusterWindow } from './status.js';

/** Gather and judge continuous archiving: findings for each reachable archiving database host (its window "not judged" when its store is outside --limit). */
export async function collectPitr(inv: Inventory, reachable: Host[], pool: ConnectionPool): Promise<Finding[]> {
  const names = new Set(reachable.map((h) => h.name));
  const dbs = inv.hosts.filter((h) => pitrOf(h) && names.has(h.name));
  if (!dbs.length) return [];
  const stores = inv.hosts.filter((s) => names.has(s.name) && s.backup_store && archivingClients(s, inv.hosts).length);
  const windows = new Map<string, ClusterWindow>();
  for (const o of await fanOut(stores, async (s) => {
    const r = await (await pool.get(s)).run(`[ -x ${PITR_PATHS.script} ] || exit 0; ${PITR_PATHS.script} status`);
    return r.code === 0 ? parseStatus(r.stdout, s.name) : [];
  }))
    if (o.ok) for (const w of o.value) windows.set(w.host, w);
  const slots = new Map<string, PitrAuditInput['slot']>();
  for (const o of await fanOut(dbs.filter((d) => names.has(d.name)), async (d) => (await gatherDbState(await pool.get(d), d)).slot)) slots.set(o.host, o.ok ? o.value : undefined);
  return dbs.flatMap((d) => {
    const p = pitrOf(d)!;
    const window = names.has(d.backup!.to) ? (windows.get(d.name) ?? null) : ('not audited' as const);
    return judgePitr({ host: d.name, store: d.backup!.to, window, slot: slots.get(d.name), maxSlotWalKeepSize: p.maxSlotWalKeepSize, stallSeconds: p.stallSeconds });
  });
}
