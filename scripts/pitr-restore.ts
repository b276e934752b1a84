// The `pitr restore` and `pitr drill` verbs (issue #19), imported by scripts/pitr.ts.
import { SafetyRefusal, UserError } from '../src/core/errors.js';
import { drillHost, restorersOf } from '../src/backup/links.js';
import { confirm } from '../src/core/confirm.js';
import { withPool } from '../src/executor/pool.js';
import { gatherFacts } from '../src/facts/gather.js';
import { PRODUCTION_MARKER_FILE } from '../src/facts/identity.js';
import { inventoryFile, loadInventory } from '../src/inventory/load.js';
import type { Host, Inventory } from '../src/inventory/types.js';
import { runDrills } from '../src/pitr/drill.js';
import { parseTarget } from '../src/pitr/restore-plan.js';
import { clusterName } from '../src/pitr/restore-scripts.js';
import { freePort, PORTS_SCRIPT, runRestore, type RestoreResult } from '../src/pitr/restore.js';
import { printJson, type Invocation } from './cli.js';

/** The options of `pitr restore` and `pitr drill`, for the `pitr` family's parser. */
export const restoreOptions = {
  host: { type: 'string' },
  time: { type: 'string' },
  to: { type: 'string' },
  port: { type: 'string' },
  cluster: { type: 'string' },
  'confirm-production': { type: 'string' },
} as const;

const named = (inv: Inventory, name: unknown, flag: string): Host => {
  if (typeof name !== 'string' || !name) throw new UserError(`${flag} HOST is required`, 'e.g. ironclad pitr restore --host db-prod --time latest --to staging');
  const h = inv.hosts.find((x) => x.name === name);
  if (!h) throw new UserError(`${flag} ${name}: no such host in ${inv.file}`);
  return h;
};

/** The database host whose archive is read, and its store. */
export function archiveOf(inv: Inventory, name: unknown): { source: Host; store: Host } {
  const source = named(inv, name, '--host');
  const store = inv.hosts.find((h) => h.name === source.backup?.to);
  if (!source.backup || !store) throw new UserError(`${source.name} backs up to no store in ${inv.file}: it has no archive to restore`);
  return { source, store };
}

/** A restore onto a production host (by tag or by its own marker) needs the host's name typed: --confirm-production
 *  NAME (what the incident runbook passes after its own typed confirmation) or at the prompt; --yes is not enough. */
async function productionGuard(to: Host, marker: boolean, typed: unknown): Promise<void> {
  const why = to.tags.includes('production') ? `${to.name} is tagged production` : marker ? `${to.name} carries the production marker ${PRODUCTION_MARKER_FILE}` : null;
  if (!why) return;
  if (typed === to.name) return;
  if (typeof typed === 'string') throw new SafetyRefusal(`${why}: --confirm-production ${typed} does not name it (type ${to.name})`);
  const ok = await confirm(`${why}: this is an in-place production restore (a new cluster beside production's, on another port; the incident runbook runbooks/restore-production-pitr.yaml swaps it in).`, { yes: false, expected: to.name });
  if (!ok) throw new SafetyRefusal(`${why}: an in-place production restore needs its name typed (--confirm-production ${to.name}, or on a terminal); see runbooks/restore-production-pitr.yaml`);
}

function say(r: RestoreResult): string {
  const held = r.stopped === 'target' ? `everything committed up to ${r.target} (inclusive)${r.first_excluded ? `; the first commit left out was at ${r.first_excluded}` : ''}` : `everything the archive held${r.target !== 'latest' ? ` (nothing was committed after ${r.target} in it)` : ''}`;
  return [
    `${r.host}: cluster ${r.version}/${r.cluster} on port ${r.port} holds ${r.source}'s data: ${held}`,
    `  newest commit it holds: ${r.last_commit ?? 'unknown (the server did not log it)'}; base ${r.base}, ${r.segments} WAL segments${r.partial ? ' + the partial one' : ''}, ${r.seconds} s`,
    `  it is a restore of ${r.source} (system identifier ${r.system_identifier}), pinned as such in /var/lib/ironclad/restored/${r.cluster}.json`,
  ].join('\n');
}

/** `ironclad pitr restore --host H --time T|latest --to HOST [--port P] [--cluster NAME] [--confirm-production HOST]`. */
export async function restore({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const { source, store } = archiveOf(inv, options.host);
  const to = named(inv, options.to, '--to');
  if (typeof options.time !== 'string') throw new UserError('--time T|latest is required', 'e.g. --time 2026-12-02T21:15:00Z, or --time latest');
  const target = parseTarget(options.time);
  if (to.backup_store) throw new UserError(`--to ${to.name} is a backup store: a restore runs where the decryption identity is, never on the store`);
  if (!restorersOf(inv, source).some((r) => r.name === to.name))
    throw new UserError(`${to.name} does not restore ${source.name}'s backups (it holds no identity they are encrypted to, and no read key)`, `restorers of ${source.name}: ${restorersOf(inv, source).map((r) => r.name).join(', ')} (set backup.drill.host or a refresh to add one, then ironclad apply)`);
  const port = options.port === undefined ? null : Number(options.port);
  if (port !== null && !(Number.isInteger(port) && port >= 1024 && port <= 65535)) throw new UserError(`--port ${options.port} is not a port a cluster can take (1024-65535)`);
  const cluster = clusterName(typeof options.cluster === 'string' ? options.cluster : `pitr_${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase()}`);
  return withPool(async (pool) => {
    const conn = await pool.get(to); // the only host this command contacts (the store is read by `to` itself)
    const facts = await gatherFacts(conn, ['production_marker']);
    await productionGuard(to, facts.facts.production_marker.present, options['confirm-production']);
    const chosen = port ?? freePort((await conn.run(PORTS_SCRIPT)).stdout);
    const log = (line: string) => flags.json || process.stderr.write(`${line}\n`);
    const result = await runRestore({ conn, to, store, source: source.name, target, cluster, port: chosen, log, version: source.postgres?.version, progress: !flags.json && process.stderr.isTTY ? process.stderr : undefined });
    if (flags.json) printJson(result);
    else process.stdout.write(say(result) + '\n');
    return 0;
  });
}

/** `ironclad pitr drill [--host H]`: exit 3 when a drill fails. */
export async function drill({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const sources = options.host !== undefined ? [archiveOf(inv, options.host).source] : inv.hosts.filter((h) => h.backup && (h as { pitr?: { enabled?: boolean } }).pitr?.enabled !== false);
  if (!sources.length) throw new UserError(`no host of ${inv.file} archives to a store`);
  const results = await runDrills({ inv, sources: sources.map((s) => ({ source: s, store: archiveOf(inv, s.name).store, on: drillHost(inv, s) })), log: (l) => flags.json || process.stderr.write(`${l}\n`), progress: !flags.json && process.stderr.isTTY ? process.stderr : undefined });
  const ok = results.every((r) => r.passed);
  if (flags.json) printJson({ ok, drills: results });
  else
    for (const r of results) {
      process.stdout.write(`${r.host}: pitr drill ${r.passed ? 'PASSED' : 'FAILED'} on ${r.on}${r.rto_s !== null ? ` (RTO ${r.rto_s} s, RPO ${r.rpo_s ?? '?'} s)` : ''}\n`);
      for (const p of r.problems) process.stdout.write(`  ! ${p}\n`);
    }
  return ok ? 0 : 3;
}
