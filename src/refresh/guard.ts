// The refresh's guards: never a production host (by tag, by the marker the host itself carries, or by its cluster being
// the very one the backups come from), one clean instance.
import { readCatalog } from '../backup/catalog.js';
import { SafetyRefusal } from '../core/errors.js';
import { gatherFacts } from '../facts/gather.js';
import { PRODUCTION_MARKER_FILE } from '../facts/identity.js';
import { checkInstances } from '../instances/check.js';
import type { Refresh, StepRun } from './db.js';
import { sqlOn } from './login.js';
import type { Host } from '../inventory/types.js';
import { sqlRows } from '../connectors/sql.js';

/** Refuse when the host is production by its tags or by its own marker (an address in the inventory may be wrong). */
export async function refuseProduction(ctx: Pick<StepRun, 'pool'>, host: Host): Promise<void> {
  if (host.tags.includes('production')) throw new SafetyRefusal(`${host.name} is tagged production: a refresh would overwrite its database`);
  const facts = await gatherFacts(await ctx.pool.get(host), ['production_marker', 'os']);
  if (facts.facts.production_marker.present)
    throw new SafetyRefusal(`${host.name} (${host.address}, hostname ${facts.facts.os.hostname ?? '?'}) carries the production marker ${PRODUCTION_MARKER_FILE}: this address is a production machine. Check the inventory's address for ${host.name}; nothing was changed`);
}

/** Refuse when the target's cluster is the one the source's backups were taken from (its system identifier), tags and
 *  markers aside: an untagged production behind a staging address. */
export async function refuseSourceCluster(ctx: Pick<StepRun, 'pool'>, r: Refresh): Promise<void> {
  const [[target]] = await sqlRows(await ctx.pool.get(r.target), sqlOn(r.target, 'postgres'), 'SELECT system_identifier FROM pg_control_system();');
  const { entries } = await readCatalog(await ctx.pool.get(r.store), r.store);
  const source = entries.find((e) => e.host === r.source.name && e.database === r.spec.from.database && e.system_identifier === target);
  if (source)
    throw new SafetyRefusal(`${r.target.name} (${r.target.address}) runs the very cluster ${r.source.name}'s backups come from (system identifier ${target}, backup ${source.id}): this address is the source, not a copy. Check the inventory's address for ${r.target.name}; nothing was changed`);
}

/** The refresh's guard, again on every --resume: never a production target (with `sourceIdentity`, nor the cluster the
 *  backups come from); the single-instance check on the target. */
export async function guardTarget(run: StepRun, r: Refresh, o: { sourceIdentity: boolean }): Promise<{ host: string; database: string }> {
  await refuseProduction(run, r.target);
  if (o.sourceIdentity) await refuseSourceCluster(run, r); // (a swap back needs no backup store)
  const census = await checkInstances(await run.pool.get(r.target), r.target);
  if (census.problems.length) throw new SafetyRefusal(`the single-instance check failed on ${r.target.name}:\n  - ${census.problems.join('\n  - ')}`);
  run.log(`${r.target.name}: not production, one instance as expected`);
  return { host: r.target.name, database: r.spec.to.database };
}
