// Run the census on hosts: one round trip each, all hosts in parallel; the judgement is census.sh's.
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { HOSTS_AT_ONCE } from '../core/limiter.js';
import { CENSUS_TIMEOUT_MS } from '../core/timeouts.js';
import { fanOut, type HostOutcome } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { tail } from '../connectors/output.js';
import type { Host } from '../inventory/types.js';
import { expectedClusters } from './expect.js';
import { CensusOutputError, parseCensus } from './parse.js';
import { censusInvocation } from './script.js';
import type { HostCensus } from './types.js';

/** How long one census may take before the host counts as failed. */
export { CENSUS_TIMEOUT_MS };

/** The census of one host; a census that could not run or finish is an OperationError (exit 1), never a clean result. */
export async function checkInstances(conn: Connector, host: Host): Promise<HostCensus> {
  const { script, stdin } = censusInvocation(expectedClusters(host));
  const result = await conn.run(script, { stdin, timeoutMs: CENSUS_TIMEOUT_MS });
  const failed = (why: string) =>
    new OperationError(`${host.name}: the instance census ${why} (exit ${result.code})${result.stderr.trim() ? `\n${tail(result.stderr)}` : ''}`);
  if (result.code !== 0 && result.code !== 3) throw failed('failed');
  let report;
  try {
    report = parseCensus(result.stdout);
  } catch (e) {
    if (e instanceof CensusOutputError) throw failed(`gave unusable output: ${e.message}`);
    throw e;
  }
  if ((result.code === 3) !== report.problems.length > 0) throw failed(`exit code disagrees with its ${report.problems.length} problem(s)`);
  return { host: host.name, ok: report.problems.length === 0, durationMs: result.durationMs, ...report };
}

/** The census of every host at once (the bound is the host count, up to `limit`); one host's failure is its own. */
export function checkAll(hosts: Host[], pool: ConnectionPool, limit = HOSTS_AT_ONCE): Promise<HostOutcome<HostCensus>[]> {
  return fanOut(hosts, async (h) => checkInstances(await pool.get(h), h), Math.max(1, Math.min(limit, hosts.length)));
}

/** The census, or a SafetyRefusal (exit 3) listing its problems: the gate for steps run from here (staging refresh, restores). */
export async function assertSingleInstance(conn: Connector, host: Host): Promise<HostCensus> {
  const census = await checkInstances(conn, host);
  if (!census.ok)
    throw new SafetyRefusal(`${host.name}: refusing: the single-instance check found ${census.problems.length === 1 ? 'a problem' : `${census.problems.length} problems`}:\n${census.problems.map((p) => `  - ${p}`).join('\n')}`);
  return census;
}
