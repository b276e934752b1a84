// Continuous archiving across hosts, for plan and apply: each archiving database host and its store, planned from
// what each has (only the selected hosts are contacted), applied database hosts first (role, slot) then stores (the
// password file, recipients, and the receiver, which then finds its slot ready).
import { randomBytes } from 'node:crypto';
import { restorersOf } from '../backup/links.js';
import { renderRecipients } from '../backup/render.js';
import { gatherBackupState } from '../facts/backup-state.js';
import { runCommands } from '../executor/run.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { archivingPassword, dbChanges, storeChanges } from './operations.js';
import { archivingClients, pitrOf } from './render.js';
import { gatherDbState, gatherStoreState } from './state.js';

/** Per host: the changes of continuous archiving, and what waits for a host not contacted now. */
export interface PitrPlan {
  host: string;
  changes: Change[];
  waiting: string[];
}

const byName = (inv: Inventory, name: string | undefined) => inv.hosts.find((h) => h.name === name);

/** The age key after `# NAME` in a recipients file the store already has (a restorer not contacted now). */
function knownKey(file: string | null | undefined, name: string): string | null {
  const lines = (file ?? '').split('\n');
  const i = lines.indexOf(`# ${name}`);
  return i >= 0 && /^age1[0-9a-z]{58}$/.test(lines[i + 1] ?? '') ? lines[i + 1] : null;
}

function deferred(host: string, plan: { changes: Change[]; waiting: string[] }): PitrPlan {
  const wait: Change[] = plan.waiting.length ? [{ operation: 'deferred', description: `continuous archiving waits for ${plan.waiting.join(', ')} (apply again with that host reachable)`, commands: [] }] : [];
  return { host, changes: [...plan.changes, ...wait], waiting: plan.waiting };
}

/** Plan continuous archiving of the selected hosts; no other host is contacted. */
export async function planPitr(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<PitrPlan[]> {
  const names = new Set(selected.map((h) => h.name));
  const stores = selected.filter((h) => h.backup_store && archivingClients(h, inv.hosts).length);
  const dbs = selected.filter((h) => pitrOf(h) && byName(inv, h.backup!.to)?.backup_store);
  if (!stores.length && !dbs.length) return [];
  const plans: PitrPlan[] = [];
  const passwords = new Map<string, { password: string; isNew: boolean }>();
  for (const s of stores) {
    const clients = archivingClients(s, inv.hosts);
    const state = await gatherStoreState(await pool.get(s), s, clients);
    const restorers = [...new Set(clients.flatMap((c) => restorersOf(inv, c).map((r) => r.name)))].filter((r) => names.has(r));
    const keys = new Map<string, string | null>();
    for (const g of await fanOut(restorers.map((r) => byName(inv, r)!), async (h) => (await gatherBackupState(await pool.get(h), h)).ageKey)) keys.set(g.host, g.ok ? g.value : null);
    const recipients = new Map<string, string | null>();
    for (const c of clients) {
      passwords.set(c.name, archivingPassword(state, c.name, randomBytes(24).toString('hex')));
      const who = restorersOf(inv, c).map((r) => ({ name: r.name, key: keys.get(r.name) ?? knownKey(state.clients[c.name]?.recipients, r.name) }));
      const known = who.filter((w): w is { name: string; key: string } => Boolean(w.key));
      recipients.set(c.name, known.length ? renderRecipients(known, c.backup!.recipients ?? []) : null);
    }
    plans.push(deferred(s.name, storeChanges({ store: s, clients, state, passwords, recipients })));
  }
  for (const d of dbs) {
    const store = byName(inv, d.backup!.to)!;
    const state = await gatherDbState(await pool.get(d), d);
    plans.push(deferred(d.name, dbChanges({ host: d, store, state, password: passwords.get(d.name)?.password ?? null })));
  }
  return plans;
}

/** Apply continuous archiving: database hosts first (role, slot, pg_hba), then stores (password, receiver). */
export async function applyPitr(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<Map<string, Change[]>> {
  const plans = await planPitr(inv, selected, pool);
  const applied = new Map<string, Change[]>();
  const run = async (ps: PitrPlan[]) => {
    const outs = await fanOut(
      ps.map((p) => ({ ...p, name: p.host })),
      async (p) => {
        const conn = await pool.get(byName(inv, p.host)!);
        for (const c of p.changes.filter((x) => x.commands.length)) {
          await runCommands(conn, c.commands);
          applied.set(p.host, [...(applied.get(p.host) ?? []), c]);
        }
      },
    );
    for (const o of outs) if (!o.ok) throw o.error;
  };
  await run(plans.filter((p) => !byName(inv, p.host)?.backup_store));
  await run(plans.filter((p) => byName(inv, p.host)?.backup_store));
  return applied;
}
