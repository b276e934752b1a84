// The corruption runbook's actions (runbooks/corruption.yaml): what is damaged and since when, the newest backup taken
// before it (from the store's own catalog), the ways out, and recording that the repair is done.
import { readCatalog } from '../backup/catalog.js';
import { SafetyRefusal, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { sh } from '../executor/run.js';
import { selectHosts } from '../inventory/load.js';
import type { Host } from '../inventory/types.js';
import type { Action, ActionContext } from '../runbook/types.js';
import { assessDamage, damageText, type Damage } from './assess.js';
import { INTEGRITY_PATHS } from './paths.js';
import { readIntegrity } from './read.js';
import { rescueTableAction } from './rescue.js';

function dbHost(ctx: ActionContext, p: Record<string, unknown>): Host {
  const [host] = selectHosts(ctx.inv, [String(p.host)]);
  if (!host.postgres) throw new UserError(`${host.name} has no postgres section in ${ctx.inv.file}: nothing to check there`);
  return host;
}

export const assessAction: Action = {
  name: 'corruption.assess',
  summary: 'what is damaged on a host: relations, blocks, since when (checksum counters, the server log, amcheck)',
  rerunOnResume: true,
  describe: (p) => `read ${String(p.host)}'s checksum failures, page errors in its log and its last amcheck (read-only)`,
  async run(p, ctx) {
    const host = dbHost(ctx, p);
    const { integrity, corruption } = await readIntegrity(await ctx.pool.get(host));
    const { damage, since } = assessDamage(integrity, corruption);
    const sums = integrity.clusters.find((c) => c.version === host.postgres!.version && c.cluster === host.postgres!.cluster);
    if (sums?.checksums === 'off') ctx.log(`data checksums are OFF on ${host.postgres!.version}/${host.postgres!.cluster}: damage may go unseen (runbooks/enable-checksums.yaml)`);
    if (!damage.length) ctx.log(`no damage seen on ${host.name}${integrity.cleared ? ` since the repair recorded ${integrity.cleared}` : ''}`);
    for (const d of damage) ctx.log(`DAMAGED: ${damageText(d)}`);
    if (since) ctx.log(`first seen: ${since} (by ${host.name}'s clock; the damage itself may be older)`);
    const databases = [...new Set(damage.map((d) => d.database).filter((d): d is string => d !== null && !d.includes('"')))];
    return { damaged: damage.length > 0, since, databases, damage };
  },
};

export const lastBackupAction: Action = {
  name: 'corruption.last_backup',
  summary: "the newest backup the store committed before the damage was first seen (the store's catalog and clock)",
  rerunOnResume: true,
  describe: (p) => `the newest backup of ${String(p.host)} on its store committed before ${String(p.since || 'now')}`,
  async run(p, ctx) {
    const host = dbHost(ctx, p);
    if (!host.backup) throw new SafetyRefusal(`${host.name} has no backup in ${ctx.inv.file}: no earlier copy to restore from`);
    const [store] = selectHosts(ctx.inv, [host.backup.to]);
    const { entries } = await readCatalog(await ctx.pool.get(store), store);
    const since = typeof p.since === 'string' && p.since ? p.since : null;
    const wanted = Array.isArray(p.databases) && p.databases.length ? (p.databases as string[]) : host.backup.databases;
    const picks = wanted.map((db) => {
      const mine = entries.filter((e) => e.host === host.name && e.database === db);
      const before = mine.filter((e) => since === null || e.time < since);
      const after = mine.length - before.length;
      return { database: db, entry: before[0] ?? null, after };
    });
    for (const x of picks) {
      if (!x.entry) ctx.log(`${x.database}: NO backup committed before ${since ?? 'now'} on ${store.name}`);
      else ctx.log(`${x.database}: newest backup before the damage: ${x.entry.id} (committed ${x.entry.time}, ${x.entry.tables} tables, ${x.entry.rows} rows${x.entry.verified ? `, restore drill passed ${x.entry.verified_at}` : ', not verified by a drill'})`);
      if (x.after) ctx.log(`${x.database}: ${x.after} later backup${x.after === 1 ? '' : 's'} may hold the damage (or a dump that skipped it): do not restore from ${x.after === 1 ? 'it' : 'them'}`);
    }
    const first = picks.find((x) => x.entry);
    return { id: first?.entry?.id ?? null, time: first?.entry?.time ?? null, database: first?.database ?? null, backups: picks.map((x) => ({ database: x.database, id: x.entry?.id ?? null, time: x.entry?.time ?? null })) };
  },
};

/** Pure: the ways out for what is damaged, each an exact command. */
export function optionsText(args: { host: string; damage: Damage[]; since: string | null; backup: string | null }): string[] {
  const { host, damage, since, backup } = args;
  const out: string[] = [];
  const indexes = damage.filter((d) => d.kind === 'index' && d.source !== 'amcheck' && d.relation);
  const tables = [...new Set(damage.filter((d) => d.kind === 'table' && d.relation).map((d) => `${d.relation} (database ${d.database})`))];
  if (indexes.length) out.push(...indexes.map((d) => `an index is rebuilt from its table: in database ${d.database}: REINDEX INDEX CONCURRENTLY ${d.relation};`));
  if (damage.some((d) => d.kind === 'index' && d.source === 'amcheck')) out.push('an index amcheck named is rebuilt from its table: REINDEX INDEX CONCURRENTLY <schema>.<index> in its database');
  if (backup)
    out.push(
      `restore one table from backup ${backup} beside the live one (into <database>__rescue, with pg_restore -n <schema> -t <table>): ` +
        `ironclad runbook run runbooks/corruption.yaml --set host=${host} --set table=<schema>.<table>; then copy over the rows the damaged pages held`,
    );
  else out.push('no backup from before the damage is in the store: save what still reads (COPY the table out, skipping the damaged blocks) before anything else');
  if (tables.length) out.push(`tables to restore or salvage: ${tables.join(', ')}`);
  out.push(`restore the whole cluster to a time before the damage: ironclad pitr restore --host ${host} --time ${since ?? 'T'} --to <a spare host> (then compare and move the rows over)`);
  out.push(`once repaired: ironclad runbook run runbooks/corruption.yaml --set host=${host} --set repaired=yes (the audit then judges only what happens after)`);
  return out;
}

export const optionsAction: Action = {
  name: 'corruption.options',
  summary: 'the ways out, as exact commands (rebuild an index, restore one table beside the live one, point-in-time recovery)',
  describe: (p) => `list the ways out for ${String(p.host)} (prints; changes nothing)`,
  async run(p, ctx) {
    const damage = (Array.isArray(p.damage) ? p.damage : []) as Damage[];
    const lines = optionsText({ host: String(p.host), damage, since: typeof p.since === 'string' && p.since ? p.since : null, backup: typeof p.backup === 'string' && p.backup ? p.backup : null });
    lines.forEach((l, i) => ctx.log(`option ${i + 1}: ${l}`));
    return { options: lines };
  },
};

export const clearAction: Action = {
  name: 'corruption.clear',
  summary: `record on the host that the repair is done (${INTEGRITY_PATHS.cleared}): damage seen before is history to the audit`,
  describe: (p) => (p.repaired === 'yes' || p.repaired === true ? `record on ${String(p.host)} that the damage is repaired (${INTEGRITY_PATHS.cleared}, the host's time now)` : 'nothing (set repaired=yes once the damage is repaired)'),
  async run(p, ctx) {
    if (!(p.repaired === 'yes' || p.repaired === true)) {
      ctx.log('not recorded: run again with --set repaired=yes once the damage is repaired');
      return { cleared: null };
    }
    const host = dbHost(ctx, p);
    const f = INTEGRITY_PATHS.cleared;
    const at = (await sh(await ctx.pool.get(host), `mkdir -p -m 700 ${shq(INTEGRITY_PATHS.dir)} && t=$(date -u +%Y-%m-%dT%H:%M:%SZ) && printf '%s\\n' "$t" > ${shq(f)}.tmp && mv -f ${shq(f)}.tmp ${shq(f)} && echo "$t"`)).trim();
    ctx.log(`${host.name}: repair recorded at ${at}`);
    return { cleared: at };
  },
};

export const CORRUPTION_ACTIONS: Action[] = [assessAction, lastBackupAction, optionsAction, rescueTableAction, clearAction];
