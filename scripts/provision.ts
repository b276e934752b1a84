// `ironclad plan` and `ironclad apply`: converge hosts to the inventory (packages, cluster, settings, pg_hba, roles, databases).
import { confirm } from '../src/core/confirm.js';
import { fanOut, type HostOutcome } from '../src/executor/fanout.js';
import { withPool } from '../src/executor/pool.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import type { Host, Inventory } from '../src/inventory/types.js';
import { applyOne, rolePasswords, type HostApply } from '../src/provision/run.js';
import { applyJson, planJson, renderApply, renderPlan } from '../src/report/plan.js';
import { applyLinks } from '../src/backup/links.js';
import { applyPitr } from '../src/pitr/apply.js';
import { applyImageChecks } from '../src/images/check-apply.js';
import { attempt, gate, joinErrors, mergeChanges, planEstate } from '../src/provision/estate.js';
import type { ConnectionPool } from '../src/executor/pool.js';
import { failedOf, printJson, reportFailedHosts, type Family } from './cli.js';
import { tlsSource } from '../src/tls/source.js';

/** The wiring's line under the hosts' report when it failed (each host's own outcome stands). */
const wiringLine = (error: string) => `backup wiring between hosts: FAILED  ${error}`;

/** Print a report (JSON or text) with the wiring's failure, name the failed hosts on stderr; the exit code. */
function finish(args: { json: boolean; doc: object; text: string; outcomes: HostOutcome<unknown>[]; wiringError: string | null; problem: boolean }): number {
  const { json, doc, text, outcomes, wiringError, problem } = args;
  if (json) printJson(wiringError ? { ...doc, wiring: { ok: false, error: wiringError } } : doc);
  else process.stdout.write(text + (wiringError ? `\n${wiringLine(wiringError)}` : '') + '\n');
  const failed = failedOf(outcomes);
  reportFailedHosts(failed);
  if (failed.length || wiringError) return 1;
  return problem ? 3 : 0;
}

export const planFamily: Family = {
  name: 'plan',
  summary: 'the changes `apply` would make, per host, with diffs; writes nothing',
  async run({ flags }) {
    const inv = loadInventory(inventoryFile(flags.inventory));
    const hosts = selectHosts(inv, flags.limit);
    const { hosts: outcomes, wiringError } = await withPool((pool) => planEstate(inv, hosts, pool));
    const problem = outcomes.some((o) => o.ok && o.value.refusals.length > 0);
    return finish({ json: flags.json, doc: planJson(outcomes), text: renderPlan(outcomes), outcomes, wiringError, problem });
  },
};

/** Converge every host on its own (a host that fails fails alone), then the backup wiring between the converged ones. */
async function applyEstate(inv: Inventory, hosts: Host[], pool: ConnectionPool, yes: boolean): Promise<{ outcomes: HostOutcome<HostApply>[]; wiringError: string | null }> {
  const passwords = new Map(hosts.map((h) => [h.name, rolePasswords(inv, h)]));
  const tls = await tlsSource(inv, 'issue', hosts);
  let restartAsked: Promise<boolean> | undefined;
  const allowRestart = () => (restartAsked ??= confirm('Some settings need a PostgreSQL restart (connections will drop).', { yes }));
  const applied = await fanOut(hosts, async (h) => {
    const conn = await pool.get(h);
    const first = await applyOne({ conn, host: h, passwords: passwords.get(h.name)!, confirmRestart: false, tls });
    if (!first.skipped.length || !(await allowRestart())) return first;
    const second = await applyOne({ conn, host: h, passwords: passwords.get(h.name)!, confirmRestart: true, tls });
    return { ...second, applied: [...first.applied, ...second.applied] };
  });
  const converged = hosts.filter((h) => applied.find((o) => o.host === h.name && o.ok && !o.value.refusals.length));
  const checksError = await attempt(async () => mergeChanges(applied, await applyImageChecks(inv, converged, pool), (a, c) => a.applied.push(...c))); // routine image checks (and their own host-to-host keys)
  const wiringError = await attempt(async () => {
    mergeChanges(applied, await applyLinks(inv, converged, pool, gate), (a, c) => a.applied.push(...c));
    mergeChanges(applied, await applyPitr(inv, converged, pool), (a, c) => a.applied.push(...c)); // continuous archiving (needs the store's recipients: after the wiring)
  });
  return { outcomes: applied, wiringError: joinErrors(wiringError, checksError) };
}

export const applyFamily: Family = {
  name: 'apply',
  summary: 'converge hosts to the inventory; a second run changes nothing',
  async run({ flags }) {
    const inv = loadInventory(inventoryFile(flags.inventory));
    const hosts = selectHosts(inv, flags.limit);
    const { outcomes, wiringError } = await withPool((pool) => applyEstate(inv, hosts, pool, flags.yes));
    const problem = outcomes.some((o) => o.ok && (o.value.refusals.length > 0 || o.value.skipped.length > 0));
    return finish({ json: flags.json, doc: applyJson(outcomes), text: renderApply(outcomes), outcomes, wiringError, problem });
  },
};
