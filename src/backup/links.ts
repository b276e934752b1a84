// Backup wiring across hosts: each database host's job and key, each store's account that only accepts new backups.
import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { linesFor } from '../connectors/known-hosts.js';
import { runCommands } from '../executor/run.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { jobChanges, refreshTargetChanges, storeChanges } from './operations.js';
import { gatherBackupState, type BackupState } from './state.js';

export type GateFn = (host: Host) => string;

/** Per host: changes that can run now, and what waits (a store waiting for a database host's new key). */
export interface LinkPlan {
  host: string;
  changes: Change[];
  waiting: string[];
}

function storeKnownHosts(store: Host): string {
  let text: string;
  try {
    text = readFileSync(store.ssh.known_hosts, 'utf8');
  } catch {
    text = '';
  }
  const lines = linesFor(text, store.address, store.ssh.port);
  if (!lines.length) throw new UserError(`no verified host key of ${store.name} (${store.address}) in ${store.ssh.known_hosts}`, `add it (checked out of band) so database hosts can pin it: ssh-keyscan ${store.address} >> ${store.ssh.known_hosts}`);
  return lines.join('\n') + '\n';
}

/** Plan the backup wiring for the selected hosts (stores included when selected). */
export async function planLinks(inv: Inventory, selected: Host[], pool: ConnectionPool, gate: GateFn): Promise<LinkPlan[]> {
  const names = new Set(selected.map((h) => h.name));
  const dbs = selected.filter((h) => h.backup);
  const stores = selected.filter((h) => h.backup_store);
  const clientsOfStores = inv.hosts.filter((h) => h.backup && names.has(h.backup.to));
  // refresh targets read the store of the refresh's source host
  const refreshes = Object.values(inv.refresh).map((r) => ({ target: inv.hosts.find((h) => h.name === r.to.host)!, store: inv.hosts.find((h) => h.name === inv.hosts.find((s) => s.name === r.from.host)?.backup?.to)! })).filter((r) => r.target && r.store);
  const targets = refreshes.filter((r) => names.has(r.target.name) || names.has(r.store.name));
  const involved = [...new Map([...dbs, ...stores, ...clientsOfStores, ...targets.map((r) => r.target)].map((h) => [h.name, h])).values()];
  if (!involved.length) return [];
  const states = new Map<string, BackupState>();
  const gathered = await fanOut(involved, async (h) => gatherBackupState(await pool.get(h), h));
  for (const g of gathered) {
    if (!g.ok) throw g.error;
    states.set(g.host, g.value);
  }
  const plans: LinkPlan[] = [];
  for (const h of dbs) {
    const store = inv.hosts.find((s) => s.name === h.backup!.to)!;
    plans.push({ host: h.name, changes: jobChanges({ inv, host: h, state: states.get(h.name)!, gate: gate(h), storeKnownHosts: storeKnownHosts(store) }), waiting: [] });
  }
  for (const r of targets.filter((x) => names.has(x.target.name))) {
    const changes = refreshTargetChanges({ host: r.target, store: r.store, state: states.get(r.target.name)!, storeKnownHosts: storeKnownHosts(r.store), alsoBacksUp: Boolean(r.target.backup) });
    const existing = plans.find((p) => p.host === r.target.name);
    if (existing) existing.changes.push(...changes);
    else plans.push({ host: r.target.name, changes, waiting: [] });
  }
  const keys = new Map(clientsOfStores.map((c) => [c.name, states.get(c.name)?.publicKey ?? null]));
  for (const s of stores) {
    const readers = new Map(targets.filter((r) => r.store.name === s.name).map((r) => [r.target.name, states.get(r.target.name)?.refreshKey ?? null]));
    const { changes, waiting } = storeChanges({ inv, store: s, state: states.get(s.name)!, publicKeys: keys, refreshKeys: readers });
    plans.push({ host: s.name, changes, waiting });
  }
  return plans;
}

/** Apply the wiring: database hosts first (keys), then stores; again while a store waited for a key made just now. */
export async function applyLinks(inv: Inventory, selected: Host[], pool: ConnectionPool, gate: GateFn): Promise<Map<string, Change[]>> {
  const applied = new Map<string, Change[]>();
  for (let round = 0; round < 3; round++) {
    const plans = await planLinks(inv, selected, pool, gate);
    const todo = plans.filter((p) => p.changes.length);
    if (!todo.length) break;
    await fanOut(
      todo.map((p) => ({ ...p, name: p.host })),
      async (p) => {
        const conn = await pool.get(inv.hosts.find((h) => h.name === p.host)!);
        for (const c of p.changes) {
          await runCommands(conn, c.commands);
          applied.set(p.host, [...(applied.get(p.host) ?? []), c]);
        }
      },
    ).then((outs) => outs.forEach((o) => { if (!o.ok) throw o.error; }));
  }
  return applied;
}
