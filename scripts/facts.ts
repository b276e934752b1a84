// `ironclad facts [HOST...]`: what each host is, gathered read-only in one SSH round trip per host.
import { UserError } from '../src/core/errors.js';
import { fanOut } from '../src/executor/fanout.js';
import { withPool, type ConnectFn } from '../src/executor/pool.js';
import { withClockOffset } from '../src/facts/clock-offset.js';
import { gatherFacts } from '../src/facts/gather.js';
import { FACT_NAMES, isFactName } from '../src/facts/registry.js';
import { renderReport } from '../src/facts/render.js';
import { factsExitCode, factsReport } from '../src/facts/report.js';
import type { FactName } from '../src/facts/types.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import type { Host, Inventory } from '../src/inventory/types.js';
import { printJson, reportFailedHosts, type Family } from './cli.js';

/** Hosts named as words (all when none), narrowed by --limit; an unknown name in either is a UserError. */
export function pickHosts(inv: Inventory, words: string[], limit?: string[]): Host[] {
  const named = selectHosts(inv, words);
  if (!limit?.length) return named;
  const allowed = new Set(selectHosts(inv, limit).map((h) => h.name));
  return named.filter((h) => allowed.has(h.name));
}

/** The facts asked by --only (comma-separated), all by default; an unknown name is a UserError. */
export function pickFacts(only: string | boolean | undefined): FactName[] {
  if (typeof only !== 'string') return FACT_NAMES;
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !isFactName(n));
  if (unknown.length) throw new UserError(`unknown fact '${unknown.join("', '")}'`, `facts: ${FACT_NAMES.join(', ')}`);
  return names.filter(isFactName);
}

/** The family with a given way to connect (SSH by default; tests pass a fake). */
export function createFactsFamily(connect?: ConnectFn): Family {
  return {
    name: 'facts',
    summary: 'what each host is: OS, Postgres packages, clusters, processes, listeners, jobs, disk',
    options: { only: { type: 'string' } },
    async run({ words, options, flags }) {
      const inv = loadInventory(inventoryFile(flags.inventory));
      const hosts = pickHosts(inv, words, flags.limit);
      const names = pickFacts(options.only);
      const outcomes = await withPool((pool) => fanOut(hosts, async (h) => withClockOffset(await pool.get(h), await gatherFacts(await pool.get(h), names))), connect);
      const report = factsReport(outcomes);
      if (flags.json) printJson(report);
      else process.stdout.write(renderReport(report));
      reportFailedHosts(report.hosts.flatMap((h) => (h.ok ? [] : [h])));
      return factsExitCode(report);
    },
  };
}

/** `ironclad facts`, over SSH. */
export const factsFamily: Family = createFactsFamily();
