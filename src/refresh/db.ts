// Small helpers the refresh actions share: its spec, its hosts, and SQL on a host's cluster as postgres.
import { UserError } from '../core/errors.js';
import type { Connector } from '../connectors/types.js';
import { selectHosts } from '../inventory/load.js';
import type { Host, Inventory, RefreshSpec } from '../inventory/types.js';
import { checkLogin, openLogin, sqlOn } from './login.js';
import { sqlRows, type Login } from '../connectors/sql.js';

/** What a restore-like action works on: a refresh: section by name (`refresh`), or explicit
 *  `source` host + `database` to a `target` host (the restore-production runbook). */
export function refreshOf(inv: Inventory, p: { refresh?: unknown; source?: unknown; target?: unknown; database?: unknown }): { name: string; spec: RefreshSpec; source: Host; target: Host; store: Host } {
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

/** The role that owns the target database on the target host (inventory), postgres when none is named. */
export function ownerOf(target: Host, database: string): string {
  return target.postgres!.databases?.find((d) => d.name === database)?.owner ?? 'postgres';
}

/** What a refresh step needs from the run it is part of (a runbook's context has it): connections to hosts, a line of
 *  progress for the operator, and the run's id (which marks what this run made). */
export interface StepRun {
  pool: { get(host: Host): Promise<Connector> };
  log(line: string): void;
  runId: string;
}

/** What a refresh works on, as refreshOf finds it in the inventory. */
export type Refresh = ReturnType<typeof refreshOf>;

/** The name of the database being prepared beside the live one, and of the one kept after a swap. */
export function sideNames(database: string): { incoming: string; previous: string } {
  // PostgreSQL cuts names at 63 bytes: a longer side name would be the live database's own name
  if (Buffer.byteLength(database) > 53) throw new UserError(`database name '${database}' is too long for a refresh (at most 53 bytes: ${database}__incoming must stay a name of its own)`);
  return { incoming: `${database}__incoming`, previous: `${database}__previous` };
}

/** A step's session in the incoming database as the refresh role (never the live one: a wrong input is refused). */
export async function incomingSession(ctx: Pick<StepRun, 'pool'>, r: Refresh, database: string): Promise<{ conn: Connector; login: Login; sql: (text: string) => Promise<string[][]> }> {
  if (database !== sideNames(r.spec.to.database).incoming) throw new UserError(`database '${database}' is not ${sideNames(r.spec.to.database).incoming}: the refresh steps work on the incoming copy only`);
  const conn = await ctx.pool.get(r.target);
  const login = await openLogin(conn, r.target, r.spec.to.database);
  await checkLogin(conn, r.target, database, login);
  return { conn, login, sql: (text) => sqlRows(conn, sqlOn(r.target, database, login), text) };
}
