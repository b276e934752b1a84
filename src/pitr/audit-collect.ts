// What the audit reads of continuous archiving (read-only): each store's windows and drill records, and each archiving
// database host's slot, for judgePitr and judgePitrDrill. All host access is here; only the reachable hosts given are
// contacted.
import type { Finding } from '../audit/types.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import type { Host, Inventory } from '../inventory/types.js';
import { judgePitr, judgePitrDrill, type PitrAuditInput } from './audit.js';
import { drillReadScript, parseDrillReads, parseDrillRecord } from './drill-record.js';
import { archivingClients, PITR_PATHS, pitrOf } from './render.js';
import { gatherDbState } from './state.js';
import { parseStatus, type ClusterWindow } from './status.js';

/** Gather and judge continuous archiving: findings for each reachable archiving database host (its window and drill
 *  "not judged" when its store is outside --limit); drill records are judged against `now`, this machine's clock. */
export async function collectPitr(inv: Inventory, reachable: Host[], pool: ConnectionPool, now = new Date()): Promise<Finding[]> {
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
  // each audited host's drill record, as its store keeps it (a host missing here: its store did not answer)
  const drills = new Map<string, string>();
  for (const o of await fanOut(stores, async (s) => {
    const clients = archivingClients(s, inv.hosts).filter((c) => names.has(c.name)).map((c) => c.name);
    if (!clients.length) return new Map<string, string>();
    const r = await (await pool.get(s)).run(drillReadScript(s.backup_store!.path, clients));
    return r.code === 0 ? parseDrillReads(r.stdout, clients) : new Map<string, string>();
  }))
    if (o.ok) for (const [h, text] of o.value) drills.set(h, text);
  const slots = new Map<string, PitrAuditInput['slot']>();
  for (const o of await fanOut(dbs.filter((d) => names.has(d.name)), async (d) => (await gatherDbState(await pool.get(d), d)).slot)) slots.set(o.host, o.ok ? o.value : undefined);
  return dbs.flatMap((d) => {
    const p = pitrOf(d)!;
    const store = d.backup!.to;
    const audited = names.has(store);
    const window = audited ? (windows.get(d.name) ?? null) : ('not audited' as const);
    const text = drills.get(d.name);
    const read = !audited ? ('not audited' as const) : text === undefined ? null : parseDrillRecord(text, d.name, now);
    return [
      ...judgePitr({ host: d.name, store, window, slot: slots.get(d.name), maxSlotWalKeepSize: p.maxSlotWalKeepSize, stallSeconds: p.stallSeconds }),
      judgePitrDrill({ host: d.name, store, read, since: typeof window === 'object' && window ? (window.since ?? window.earliest) : null, now }),
    ];
  });
}
