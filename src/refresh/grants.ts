// Production's privileges in the restored copy: the dump's ACL entries read as data (./acl.ts), written again by
// ironclad and run as the refresh role, which owns every object of the copy until the hand-over (REASSIGN OWNED then
// moves what it granted to the owner role with the objects). Only grants to roles the target has, on objects the
// refresh role owns there; the others are named in the report, never an error. The restore itself stays --no-acl.
import { OperationError } from '../core/errors.js';
import { shq, sqlLiteral } from '../core/quote.js';
import { tail } from '../connectors/output.js';
import { parseAcl, renderGrant, shown, type Grant } from './acl.js';
import { saveFile, type Restore } from './prepare.js';

/** What became of the dump's privileges. */
export interface GrantsReport {
  /** statements applied */
  restored: number;
  /** the roles they name (PUBLIC too) */
  roles: string[];
  /** roles the target does not have, with the number of statements that name them (not applied) */
  missing: { role: string; statements: number }[];
  /** privileges not restored: objects not owned by the refresh role, kinds ironclad does not restore (shown only) */
  skipped: string[];
}

const ACL_ENTRY = /^\d+; \d+ \d+ ACL /;
const DEFAULT_ACL = /^\d+; \d+ \d+ DEFAULT ACL (.*)$/;

/** Pure: the statements to apply and the report, given the roles the target has and which grants' objects the
 *  refresh role owns (`owned[i]` for `grants[i]`). */
export function planGrants(grants: Grant[], roles: Set<string>, owned: boolean[], skipped: string[]): { sql: string[]; report: GrantsReport } {
  const sql: string[] = [];
  const named = new Set<string>();
  const missing = new Map<string, number>();
  const notOwned = new Set<string>();
  grants.forEach((g, i) => {
    if (g.grantee !== null && !roles.has(g.grantee)) missing.set(g.grantee, (missing.get(g.grantee) ?? 0) + 1);
    else if (!owned[i]) notOwned.add(shown(`${g.kind} ${g.kind === 'SCHEMA' ? g.schema : `${g.schema}.${g.name}`} (not the restoring role's)`));
    else {
      sql.push(renderGrant(g));
      named.add(g.grantee ?? 'PUBLIC');
    }
  });
  const report = {
    restored: sql.length,
    roles: [...named].sort(),
    missing: [...missing].sort(([a], [b]) => a.localeCompare(b)).map(([role, statements]) => ({ role, statements })),
    skipped: [...notOwned, ...skipped],
  };
  return { sql, report };
}

/** SQL (as the refresh role) that says, for each grant, whether its object is the role's own (pure): every name a literal. */
export function ownedSql(grants: Grant[]): string {
  const rows = grants.map((g, i) => `(${i}, ${sqlLiteral(g.kind)}, ${sqlLiteral(g.schema)}, ${sqlLiteral(g.name)})`).join(', ');
  return `SELECT v.i, coalesce(pg_has_role(CASE WHEN v.k = 'SCHEMA' THEN (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = v.s) ELSE (SELECT c.relowner FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = v.s AND c.relname = v.n) END, 'USAGE'), false) FROM (VALUES ${rows}) AS v(i, k, s, n) ORDER BY v.i;`;
}

/** Restore the dump's privileges into the copy as the refresh role (after everything else is restored). */
export async function restoreGrants(r: Restore, toc: string, dir: string): Promise<GrantsReport> {
  const lines = toc.split('\n');
  const defaults = lines.flatMap((l) => DEFAULT_ACL.exec(l)?.[1] ?? []).map((d) => shown(`default privileges: ${d}`));
  const entries = lines.filter((l) => ACL_ENTRY.test(l));
  if (!entries.length) return { restored: 0, roles: [], missing: [], skipped: defaults };
  await saveFile(r, `${dir}/acl.list`, entries.join('\n'));
  const text = await r.conn.run(`pg_restore -L ${shq(`${dir}/acl.list`)} -f - ${shq(r.dump)}`);
  if (text.code !== 0) throw new OperationError(`pg_restore of the privileges of ${r.dump} on ${r.host.name} failed (exit ${text.code})\n${tail(text.stderr)}`);
  const { grants, unknown } = parseAcl(text.stdout);
  const names = [...new Set(grants.flatMap((g) => (g.grantee === null ? [] : [g.grantee])))];
  const roles = new Set(names.length ? (await r.sql(`SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN (${names.map(sqlLiteral).join(', ')});`)).map(([n]) => n) : []);
  const owned = grants.length ? (await r.sql(ownedSql(grants))).map(([, t]) => t === 't') : [];
  const { sql, report } = planGrants(grants, roles, owned, [...unknown, ...defaults]);
  if (sql.length) await r.sql(['BEGIN;', ...sql, 'COMMIT;'].join('\n'));
  return report;
}

/** Pure: the report's lines. */
export function grantsLines(g: GrantsReport, host: string): string[] {
  // (role names come from the dump: shown on one printable line)
  const out = [`production's privileges: ${g.restored} grants and revokes restored${g.roles.length ? ` (for ${shown(g.roles.join(', '))})` : ''}`];
  if (g.missing.length) out.push(`not restored, the roles do not exist on ${host}: ${shown(g.missing.map((m) => `${m.role} (${m.statements})`).join(', '))}`);
  if (g.skipped.length) out.push(`not restored (ironclad restores privileges on schemas, tables, views, columns and sequences): ${g.skipped.join('; ')}`);
  return out;
}
