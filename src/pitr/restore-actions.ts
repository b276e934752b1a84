// The runbook actions of an in-place (or replacement-host) point-in-time restore, for
// runbooks/restore-production-pitr.yaml: `pitr.restore` makes the new cluster beside production's (a typed
// confirmation: the runbook marks it destructive), `pitr.swap` puts it in service and keeps the replaced cluster.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { restorersOf } from '../backup/links.js';
import { tail } from '../connectors/output.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Action } from '../runbook/types.js';
import { stamp } from '../restore/names.js';
import { parseTarget } from './restore-plan.js';
import { clusterName, render, tags } from './restore-scripts.js';
import { freePort, PORTS_SCRIPT, runRestore } from './restore.js';

function hosts(inv: Inventory, p: Record<string, unknown>): { source: Host; store: Host; target: Host } {
  const by = (n: unknown, what: string) => {
    const h = inv.hosts.find((x) => x.name === n);
    if (!h) throw new UserError(`${what} ${JSON.stringify(n)}: no such host in ${inv.file}`);
    return h;
  };
  const source = by(p.source, 'source');
  const target = by(p.target, 'target');
  const store = inv.hosts.find((h) => h.name === source.backup?.to);
  if (!store) throw new UserError(`${source.name} backs up to no store: it has no archive to restore`);
  if (!restorersOf(inv, source).some((r) => r.name === target.name)) throw new UserError(`${target.name} does not restore ${source.name}'s backups (no identity, no read key): make it ${source.name}'s drill host and apply`);
  return { source, store, target };
}

/** Pure: the sentence the report gives about what the restored data represents and what it leaves out. */
export function representsText(r: { source: string; target: string; stopped: string; last_commit: string | null; archive_latest: string | null }): string {
  const held = r.stopped === 'target' ? `what ${r.source} had committed at ${r.target} (inclusive)` : `everything ${r.source}'s archive held`;
  const after = r.archive_latest && r.last_commit && r.archive_latest > r.last_commit ? `; the archive holds commits up to ${r.archive_latest} that it does not: they are lost by a swap` : '; nothing later is in the archive';
  return `the restored cluster holds ${held}, newest commit ${r.last_commit ?? 'unknown'}${after}`;
}

export const pitrRestoreAction: Action = {
  name: 'pitr.restore',
  summary: 'a point-in-time restore of a host\'s archive into a new cluster on the target (beside its clusters, on a free port); nothing of the target\'s is touched',
  destructive: true,
  describe: (p) => `restore ${String(p.source)}'s archive to ${String(p.time)} into a new cluster on ${String(p.target)} (a free port; the live cluster is not touched)`,
  async run(p, ctx) {
    const { source, store, target } = hosts(ctx.inv, p);
    const conn = await ctx.pool.get(target);
    // (named after the run: a resumed run, after a crash of the target, takes up the same cluster, never a second one)
    const cluster = clusterName(typeof p.cluster === 'string' && p.cluster ? p.cluster : `pitr_${ctx.runId.replace(/-.*-/, '_').toLowerCase()}`);
    const port = p.port ? Number(p.port) : freePort((await conn.run(PORTS_SCRIPT)).stdout);
    const r = await runRestore({ conn, to: target, store, source: source.name, target: parseTarget(String(p.time)), cluster, port, log: ctx.log, version: source.postgres?.version });
    ctx.log(representsText(r));
    return { cluster: r.cluster, port: r.port, version: r.version, base: r.base, stopped: r.stopped, last_commit: r.last_commit, first_excluded: r.first_excluded, archive_latest: r.archive_latest };
  },
};

export const pitrSwapAction: Action = {
  name: 'pitr.swap',
  summary: "the restored cluster in service in place of the target's cluster (name, data directory, port), the replaced cluster kept whole under <cluster>__damaged_<UTC time>, stopped, start manual",
  destructive: true,
  describe: (p) => `${String(p.target)}: stop its cluster and keep it as <cluster>__damaged_<UTC time>; the restored cluster ${String(p.cluster)} takes its name and port`,
  async run(p, ctx) {
    const { target } = hosts(ctx.inv, p);
    const pg = target.postgres;
    if (!pg) throw new UserError(`${target.name} has no postgres: section: there is no cluster to put the restore in place of`);
    const version = Number(p.version);
    if (!Number.isInteger(version) || version < 9 || version > 99) throw new UserError(`version ${String(p.version)} is not a PostgreSQL version`);
    const kept = clusterName(`${pg.cluster}__damaged_${stamp(new Date()).toLowerCase()}`);
    const vars = { VERSION: version, CLUSTER: clusterName(String(p.cluster)), LIVE: pg.cluster, LIVE_PORT: pg.port, KEPT: kept };
    const script = render(vars, 'restore-swap.sh');
    const r = await (await ctx.pool.get(target)).run(script);
    if (r.code === 3) throw new SafetyRefusal(`${target.name}: ${tail(r.stderr).trim()}`);
    if (r.code !== 0) throw new OperationError(`${target.name}: the swap failed (exit ${r.code})\n${tail(r.stderr || r.stdout)}`);
    const k = tags(r.stdout).kept?.split(' ');
    ctx.log(`${target.name}: ${pg.version}/${pg.cluster} on port ${pg.port} is now the restored cluster${k ? `; the replaced one is kept as ${version}/${k[0]} on port ${k[1]} (start.conf manual)` : ''}`);
    return { kept: k?.[0] ?? null, kept_port: k ? Number(k[1]) : null };
  },
};

export const PITR_RESTORE_ACTIONS: Action[] = [pitrRestoreAction, pitrSwapAction];
