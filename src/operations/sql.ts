// Roles and databases: created or altered to match the inventory; passwords set as SCRAM verifiers, never in clear.
import { sqlIdent, sqlLiteral } from '../core/quote.js';
import { registerSecret } from '../core/secrets.js';
import type { Database, PostgresSpec } from '../inventory/types.js';
import type { RoleState } from '../facts/cluster-state.js';
import { scramMatches, scramVerifier } from './scram.js';
import type { Change } from './types.js';

/** A role of the inventory with its password already resolved (or none). */
export interface DesiredRole {
  name: string;
  login: boolean;
  superuser: boolean;
  createdb: boolean;
  password?: string;
}

function attributes(r: DesiredRole): string {
  return [r.login ? 'LOGIN' : 'NOLOGIN', r.superuser ? 'SUPERUSER' : 'NOSUPERUSER', r.createdb ? 'CREATEDB' : 'NOCREATEDB'].join(' ');
}

/** Changes that make the roles match; a password is reported only when the stored verifier does not match it. */
export function roleChanges(current: RoleState[], desired: DesiredRole[], port: number): Change[] {
  const changes: Change[] = [];
  for (const r of desired) {
    const have = current.find((c) => c.name === r.name);
    const passwordSql = () => {
      const verifier = scramVerifier(r.password!);
      registerSecret(verifier);
      return ` PASSWORD ${sqlLiteral(verifier)}`;
    };
    if (!have) {
      changes.push({
        operation: 'role',
        description: `create role ${r.name} (${attributes(r).toLowerCase()}${r.password ? ', password from its secret' : ''})`,
        commands: [{ kind: 'sql', port, sql: `CREATE ROLE ${sqlIdent(r.name)} ${attributes(r)}${r.password ? passwordSql() : ''};` }],
      });
      continue;
    }
    const attrsDiffer = have.login !== r.login || have.superuser !== r.superuser || have.createdb !== r.createdb;
    const passwordDiffers = r.password !== undefined && !scramMatches(have.password, r.password);
    if (!attrsDiffer && !passwordDiffers) continue;
    const what = [attrsDiffer ? attributes(r).toLowerCase() : '', passwordDiffers ? 'password from its secret' : ''].filter(Boolean).join(', ');
    changes.push({
      operation: 'role',
      description: `alter role ${r.name} (${what})`,
      commands: [{ kind: 'sql', port, sql: `ALTER ROLE ${sqlIdent(r.name)}${attrsDiffer ? ` ${attributes(r)}` : ''}${passwordDiffers ? passwordSql() : ''};` }],
    });
  }
  return changes;
}

/** Databases created with their owners, or their owner corrected; never dropped. */
export function databaseChanges(current: { name: string; owner: string }[], desired: Database[], port: number): Change[] {
  const changes: Change[] = [];
  for (const d of desired) {
    const have = current.find((c) => c.name === d.name);
    if (!have)
      changes.push({
        operation: 'database',
        description: `create database ${d.name} owned by ${d.owner}`,
        commands: [{ kind: 'sql', port, sql: `CREATE DATABASE ${sqlIdent(d.name)} OWNER ${sqlIdent(d.owner)}${d.encoding ? ` ENCODING ${sqlLiteral(d.encoding)}` : ''};` }],
      });
    else if (have.owner !== d.owner)
      changes.push({
        operation: 'database',
        description: `change the owner of database ${d.name} from ${have.owner} to ${d.owner}`,
        commands: [{ kind: 'sql', port, sql: `ALTER DATABASE ${sqlIdent(d.name)} OWNER TO ${sqlIdent(d.owner)};` }],
      });
  }
  return changes;
}

/** The inventory's roles with defaults applied (login defaults to true when a password is given). */
export function desiredRoles(pg: PostgresSpec, password: (name: string) => string | undefined): DesiredRole[] {
  return (pg.roles ?? []).map((r) => ({
    name: r.name,
    login: r.login ?? r.password !== undefined,
    superuser: r.superuser ?? false,
    createdb: r.createdb ?? false,
    password: password(r.name),
  }));
}
