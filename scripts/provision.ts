// `ironclad plan` and `ironclad apply`: converge hosts to the inventory (packages, cluster, settings, pg_hba, roles, databases).
import { confirm } from '../src/core/confirm.js';
import { fanOut } from '../src/executor/fanout.js';
import { withPool } from '../src/executor/pool.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import { applyOne, rolePasswords } from '../src/provision/run.js';
import { applyJson, planJson, renderApply, renderPlan } from '../src/report/plan.js';
import { applyLinks } from '../src/backup/links.js';
import { gate, mergeChanges, planEstate } from '../src/provision/estate.js';
import { printJson, type Family } from './cli.js';

export const planFamily: Family = {
  name: 'plan',
  summary: 'the changes `apply` would make, per host, with diffs; writes nothing',
  async run({ flags }) {
    const inv = loadInventory(inventoryFile(flags.inventory));
    const hosts = selectHosts(inv, flags.limit);
    const outcomes = await withPool((pool) => planEstate(inv, hosts, pool));
    if (flags.json) printJson(planJson(outcomes));
    else process.stdout.write(renderPlan(outcomes) + '\n');
    if (outcomes.some((o) => !o.ok)) return 1;
    return outcomes.some((o) => o.ok && o.value.refusals.length) ? 3 : 0;
  },
};

export const applyFamily: Family = {
  name: 'apply',
  summary: 'converge hosts to the inventory; a second run changes nothing',
  async run({ flags }) {
    const inv = loadInventory(inventoryFile(flags.inventory));
    const hosts = selectHosts(inv, flags.limit);
    const passwords = new Map(hosts.map((h) => [h.name, rolePasswords(inv, h)]));
    let restartAsked: Promise<boolean> | undefined;
    const allowRestart = () => (restartAsked ??= confirm('Some settings need a PostgreSQL restart (connections will drop).', { yes: flags.yes }));
    const outcomes = await withPool(async (pool) => {
      const applied = await fanOut(hosts, async (h) => {
        const conn = await pool.get(h);
        const first = await applyOne({ conn, host: h, passwords: passwords.get(h.name)!, confirmRestart: false });
        if (!first.skipped.length || !(await allowRestart())) return first;
        const second = await applyOne({ conn, host: h, passwords: passwords.get(h.name)!, confirmRestart: true });
        return { ...second, applied: [...first.applied, ...second.applied] };
      });
      const converged = hosts.filter((h) => applied.find((o) => o.host === h.name && o.ok && !o.value.refusals.length));
      mergeChanges(applied, await applyLinks(inv, converged, pool, gate), (a, c) => a.applied.push(...c));
      return applied;
    });
    if (flags.json) printJson(applyJson(outcomes));
    else process.stdout.write(renderApply(outcomes) + '\n');
    if (outcomes.some((o) => !o.ok)) return 1;
    return outcomes.some((o) => o.ok && (o.value.refusals.length || o.value.skipped.length)) ? 3 : 0;
  },
};
