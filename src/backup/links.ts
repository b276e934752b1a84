// Backup wiring across hosts: each database host's job and key, each restoring host's identity and read key, each
// store's account that only accepts new backups. Only the selected hosts are contacted (--limit, or the hosts that
// answered): what one needs to know about another comes from that host, else from what the selected host already has.
import { readFileSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { linesFor } from '../connectors/known-hosts.js';
import { runCommands } from '../executor/run.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { hostChanges, storeChanges } from './operations.js';
import { PATHS } from './render.js';
import { gatherBackupState, type BackupState } from '../facts/backup-state.js';

export type GateFn = (host: Host) => string;

/** Per host: changes that can run now, and what waits (a key not made yet, or on a host not contacted). */
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

const byName = (inv: Inventory, name: string | undefined) => inv.hosts.find((h) => h.name === name);

/** The host that runs a database host's restore drills: the inventory's `backup.drill.host`, else the target of a
 *  refresh from it, else the database host itself (never the store: it holds no identity). */
export function drillHost(inv: Inventory, db: Host): Host {
  const named = byName(inv, db.backup?.drill?.host) ?? byName(inv, Object.values(inv.refresh).find((r) => r.from.host === db.name)?.to.host) ?? db;
  if (named.backup_store) throw new UserError(`${db.name}'s drill host ${named.name} is a backup store: drills run where the decryption identity is, never on the store`, `set backup.drill.host of ${db.name} to a host that restores (staging, or a scratch server) in ${inv.file}`);
  return named;
}

/** Who restores a database host's backups (and so holds an identity they are encrypted to): itself, its refresh
 *  targets, its drill host. */
export function restorersOf(inv: Inventory, db: Host): Host[] {
  const names = new Set([db.name, ...Object.values(inv.refresh).filter((r) => r.from.host === db.name).map((r) => r.to.host), drillHost(inv, db).name]);
  return inv.hosts.filter((h) => names.has(h.name));
}

/** The stores a host talks to: its own (as a database host) and those of the databases it restores. */
function storesOf(inv: Inventory, h: Host): Host[] {
  const dbs = inv.hosts.filter((d) => d.backup && (d.name === h.name || restorersOf(inv, d).some((r) => r.name === h.name)));
  return [...new Map(dbs.map((d) => byName(inv, d.backup!.to)!).map((s) => [s.name, s])).values()];
}

/** A key another host has, as a selected host already knows it: the line after `# NAME` (recipients) or the key of an
 *  authorized_keys line ending in one of `comments`. */
function knownRecipient(file: string | null | undefined, name: string): string | null {
  const lines = (file ?? '').split('\n');
  const i = lines.indexOf(`# ${name}`);
  return i >= 0 && /^age1[0-9a-z]{58}$/.test(lines[i + 1] ?? '') ? lines[i + 1] : null;
}
function knownSshKey(authorized: string | null, comments: string[]): string | null {
  const line = (authorized ?? '').split('\n').find((l) => comments.includes(l.trim().split(/\s+/).pop() ?? ''));
  const m = line?.match(/(ssh-ed25519|ssh-rsa|ecdsa-sha2-\S+) (\S+)/);
  return m ? `${m[1]} ${m[2]}` : null;
}

/** A plan whose waiting keys are named as a change of their own (no commands: it is done by a later apply that can
 *  reach the host, or by this one when the key is made in its first round). */
function withDeferred(host: string, plan: { changes: Change[]; waiting: string[] }, what: string, meanwhile: string): LinkPlan {
  const deferred: Change[] = plan.waiting.length
    ? [{ operation: 'deferred', description: `waits for ${what} ${plan.waiting.join(', ')} (made by this apply, or on a host not contacted now: apply again once it is reachable); ${meanwhile}`, commands: [] }]
    : [];
  return { host, changes: [...plan.changes, ...deferred], waiting: plan.waiting };
}

/** Plan the backup wiring of the selected hosts; no other host is contacted. */
export async function planLinks(inv: Inventory, selected: Host[], pool: ConnectionPool, gate: GateFn): Promise<LinkPlan[]> {
  const names = new Set(selected.map((h) => h.name));
  const dbs = inv.hosts.filter((h) => h.backup);
  const restorers = new Set(dbs.flatMap((d) => restorersOf(inv, d).map((r) => r.name)));
  const clientsOf = (s: Host) => dbs.filter((d) => d.backup!.to === s.name);
  const involved = selected.filter((h) => h.backup || h.backup_store || restorers.has(h.name));
  if (!involved.length) return [];
  const states = new Map<string, BackupState>();
  const gathered = await fanOut(involved, async (h) => gatherBackupState(await pool.get(h), h, h.backup_store ? clientsOf(h).map((c) => c.name) : []));
  for (const g of gathered) {
    if (!g.ok) throw g.error;
    states.set(g.host, g.value);
  }
  const plans: LinkPlan[] = [];
  for (const h of involved.filter((x) => x.backup || restorers.has(x.name))) {
    const state = states.get(h.name)!;
    const knownHosts = storesOf(inv, h).map(storeKnownHosts).join('');
    const recipients = h.backup ? restorersOf(inv, h).map((r) => ({ name: r.name, key: (names.has(r.name) ? states.get(r.name)?.ageKey : null) ?? knownRecipient(state.files[PATHS.recipients], r.name) })) : [];
    const role = { host: h, store: byName(inv, h.backup?.to), restores: restorers.has(h.name), knownHosts, recipients };
    plans.push(withDeferred(h.name, hostChanges({ role, state, gate: h.backup ? gate(h) : '', inventoryFile: inv.file }), 'the age key of', 'its backups are encrypted to the others meanwhile'));
  }
  for (const s of involved.filter((x) => x.backup_store)) {
    const state = states.get(s.name)!;
    const clients = clientsOf(s);
    const authorized = state.storeUser.authorizedKeys;
    const clientKeys = new Map(clients.map((c) => [c.name, (names.has(c.name) ? states.get(c.name)?.publicKey : null) ?? knownSshKey(authorized, [`ironclad-backup-from-${c.name}`])]));
    const readers = [...restorers]
      .map((r) => ({ name: r, sources: clients.filter((c) => restorersOf(inv, c).some((x) => x.name === r)).map((c) => c.name) }))
      .filter((r) => r.sources.length)
      .map((r) => ({ ...r, key: (names.has(r.name) ? states.get(r.name)?.refreshKey : null) ?? knownSshKey(authorized, [`ironclad-read-by-${r.name}`, `ironclad-refresh-to-${r.name}`]) }));
    plans.push(withDeferred(s.name, storeChanges({ store: s, clients, state, clientKeys, readers }), 'the SSH key of', 'nothing of theirs is allowed in meanwhile'));
  }
  return plans;
}

/** Apply the wiring: every host's own changes first (keys), then again while a host waited for a key made just now. */
export async function applyLinks(inv: Inventory, selected: Host[], pool: ConnectionPool, gate: GateFn): Promise<Map<string, Change[]>> {
  const applied = new Map<string, Change[]>();
  for (let round = 0; round < 3; round++) {
    const plans = await planLinks(inv, selected, pool, gate);
    const todo = plans.map((p) => ({ ...p, changes: p.changes.filter((c) => c.commands.length) })).filter((p) => p.changes.length);
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
