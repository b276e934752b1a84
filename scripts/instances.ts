// `ironclad check instances`: the single-instance census of every Postgres host (judged by src/instances/census.sh).
import { UserError } from '../src/core/errors.js';
import { withPool, type ConnectFn } from '../src/executor/pool.js';
import { checkAll } from '../src/instances/check.js';
import { censusExitCode, censusJson, renderCensus } from '../src/instances/report.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import { failedOf, printJson, reportFailedHosts, type Family } from './cli.js';

const checks = ['instances'] as const;

/** The family with a given way to connect (SSH by default; tests pass a fake or the local connector). */
export function createCheckFamily(connect?: ConnectFn): Family {
  return {
    name: 'check',
    summary: 'check instances: single-instance census of every Postgres host (exit 3 on any problem)',
    async run({ words, flags }) {
      const [what, ...rest] = words;
      if (!checks.includes(what as (typeof checks)[number]) || rest.length)
        throw new UserError(`usage: ironclad check instances${what ? ` (got '${words.join(' ')}')` : ''}`, 'e.g. `ironclad check instances --json`');
      const inv = loadInventory(inventoryFile(flags.inventory));
      const hosts = selectHosts(inv, flags.limit).filter((h) => h.postgres);
      if (!hosts.length)
        throw new UserError(`no host with 'postgres:' in ${flags.limit?.length ? 'the hosts of --limit' : inv.file}`, 'the census checks the hosts that run PostgreSQL');
      const outcomes = await withPool((pool) => checkAll(hosts, pool), connect);
      if (flags.json) printJson(censusJson(outcomes));
      else process.stdout.write(renderCensus(outcomes) + '\n');
      reportFailedHosts(failedOf(outcomes));
      return censusExitCode(outcomes);
    },
  };
}

/** `ironclad check instances`, over SSH. */
export const checkFamily: Family = createCheckFamily();
