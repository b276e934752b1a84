// The refresh's guards: never a production host (by tag, or by the marker the host itself carries), one clean instance.
import { SafetyRefusal } from '../core/errors.js';
import { gatherFacts } from '../facts/gather.js';
import { PRODUCTION_MARKER_FILE } from '../facts/identity.js';
import { checkInstances } from '../instances/check.js';
import type { Action, ActionContext } from '../runbook/types.js';
import { refreshOf } from './db.js';
import type { Host } from '../inventory/types.js';

/** Refuse when the host is production by its tags or by its own marker (an address in the inventory may be wrong). */
export async function refuseProduction(ctx: ActionContext, host: Host): Promise<void> {
  if (host.tags.includes('production')) throw new SafetyRefusal(`${host.name} is tagged production: a refresh would overwrite its database`);
  const facts = await gatherFacts(await ctx.pool.get(host), ['production_marker', 'os']);
  if (facts.facts.production_marker.present)
    throw new SafetyRefusal(`${host.name} (${host.address}, hostname ${facts.facts.os.hostname ?? '?'}) carries the production marker ${PRODUCTION_MARKER_FILE}: this address is a production machine. Check the inventory's address for ${host.name}; nothing was changed`);
}

export const guardAction: Action = {
  name: 'refresh.guard',
  summary: 'refuse a production target; the single-instance check on the target (run again on every --resume)',
  rerunOnResume: true,
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `${r.target.name} must not be production (tag and on-host marker) and must pass the single-instance check`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    await refuseProduction(ctx, r.target);
    const census = await checkInstances(await ctx.pool.get(r.target), r.target);
    if (census.problems.length) throw new SafetyRefusal(`the single-instance check failed on ${r.target.name}:\n  - ${census.problems.join('\n  - ')}`);
    ctx.log(`${r.target.name}: not production, one instance as expected`);
    return { host: r.target.name, database: r.spec.to.database };
  },
};
