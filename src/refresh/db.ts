// Small helpers the refresh actions share: its spec, its hosts, and SQL on a host's cluster as postgres.
import { OperationError, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { tail } from '../executor/run.js';
import type { Host, Inventory, RefreshSpec } from '../inventory/types.js';
import type { ActionContext } from '../runbook/types.js';

/** The refresh spec named by an action's `refresh` parameter, with its source, target and store hosts. */
export function refreshOf(inv: Inventory, name: unknown): { name: string; spec: RefreshSpec; source: Host; target: Host; store: Host } {
  const spec = inv.refresh[String(name)];
  if (!spec) throw new UserError(`no refresh '${String(name)}' in ${inv.file}`, `refreshes: ${Object.keys(inv.refresh).join(', ') || 'none'}`);
  const source = inv.hosts.find((h) => h.name === spec.from.host)!;
  const target = inv.hosts.find((h) => h.name === spec.to.host)!;
  const store = inv.hosts.find((h) => h.name === source.backup!.to)!;
  return { name: String(name), spec, source, target, store };
}

/** Rows of a query (tab-separated fields) run as postgres on the host's cluster. */
export async function query(conn: Connector, host: Host, database: string, sql: string): Promise<string[][]> {
  const r = await conn.run(`cd / && su postgres -s /bin/sh -c ${shq(`psql -X -A -t -q -v ON_ERROR_STOP=1 -F '\t' -p ${host.postgres!.port} -d ${shq(database)}`)}`, { stdin: sql });
  if (r.code !== 0) {
    const errors = (r.stderr || r.stdout).split('\n').filter((l) => /^(ERROR|FATAL|psql: error):?/.test(l));
    throw new OperationError(`${host.name}: SQL on ${database} failed (exit ${r.code}): ${errors.join('; ') || 'see below'}\n${tail(r.stderr || r.stdout, 4)}`);
  }
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

/** The connector of a host by name. */
export async function connectTo(ctx: ActionContext, host: Host): Promise<Connector> {
  return ctx.pool.get(host);
}

/** The name of the database being prepared beside the live one, and of the one kept after a swap. */
export function sideNames(database: string): { incoming: string; previous: string } {
  return { incoming: `${database}__incoming`, previous: `${database}__previous` };
}
