// Small helpers the refresh actions share: its spec, its hosts, and SQL on a host's cluster as postgres.
import { OperationError, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { tail } from '../executor/run.js';
import { selectHosts } from '../inventory/load.js';
import type { Host, Inventory, RefreshSpec } from '../inventory/types.js';
import type { ActionContext } from '../runbook/types.js';

/** What a restore-like action works on: a refresh: section by name (`refresh`), or explicit
 *  `source` host + `database` to a `target` host (the restore-production runbook). */
export function refreshOf(inv: Inventory, p: Record<string, unknown>): { name: string; spec: RefreshSpec; source: Host; target: Host; store: Host } {
  let name: string;
  let spec: RefreshSpec | undefined;
  if (p.refresh !== undefined) {
    name = String(p.refresh);
    spec = inv.refresh[name];
    if (!spec) throw new UserError(`no refresh '${name}' in ${inv.file}`, `refreshes: ${Object.keys(inv.refresh).join(', ') || 'none'}`);
  } else {
    name = `${String(p.source)}-to-${String(p.target)}`;
    spec = { from: { host: String(p.source), database: String(p.database) }, to: { host: String(p.target), database: String(p.database) }, scrub: '' };
  }
  const [source] = selectHosts(inv, [spec.from.host]);
  const [target] = selectHosts(inv, [spec.to.host]);
  if (!source.backup) throw new UserError(`host '${source.name}' has no backup: section, so it has no backups to restore`);
  if (!target.postgres) throw new UserError(`host '${target.name}' has no postgres: section to restore into`);
  const store = inv.hosts.find((h) => h.name === source.backup!.to)!;
  return { name, spec, source, target, store };
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
  // PostgreSQL cuts names at 63 bytes: a longer side name would be the live database's own name
  if (Buffer.byteLength(database) > 53) throw new UserError(`database name '${database}' is too long for a refresh (at most 53 bytes: ${database}__incoming must stay a name of its own)`);
  return { incoming: `${database}__incoming`, previous: `${database}__previous` };
}
