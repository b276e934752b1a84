// Restoring one table from a backup beside the live one (the corruption runbook's `rescue-table` step): the database
// host fetches the backup from the store with its read key and decrypts it there, pg_restore puts that table alone
// (its definition and rows: no triggers, no indexes, no functions of the dump) into a new scratch database
// <database>__rescue, and the copy of the backup is removed. The live database is never touched; an existing scratch
// database is never reused or dropped.
import { readCatalog } from '../backup/catalog.js';
import { fetchScript, parseFetch, safeName } from '../backup/fetch.js';
import { tail } from '../connectors/output.js';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { clientAs, psqlPiped } from '../core/psql.js';
import { shq, sqlIdent, sqlLiteral } from '../core/quote.js';
import { selectHosts } from '../inventory/load.js';
import type { Action } from '../runbook/types.js';
import { INTEGRITY_PATHS } from './paths.js';

/** Pure: `schema.table` as PostgreSQL spells it (a bare name is in public; the first dot splits). */
export function splitTable(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot > 0 ? { schema: name.slice(0, dot), table: name.slice(dot + 1) } : { schema: 'public', table: name };
}

/** Pure: the restore script run on the host after the fetch: a new database, the schema, that one table, its rows. The
 *  scratch database's name reaches psql and pg_restore only in PGDATABASE (core/psql.ts), the schema and the table
 *  only as SQL identifiers and as the one argument of pg_restore's -n and -t: no name is ever a connection option. */
export function rescueScript(args: { port: number; scratch: string; schema: string; table: string; dump: string }): string {
  const { port, scratch, schema, table, dump } = args;
  const psql = (database: string, sql: string) => psqlPiped('postgres', { database, port, format: 'tab' }, sql);
  // the dump stays root's (its folder is 0700): root opens it and pg_restore, as postgres, reads it on stdin
  const restore = clientAs('postgres', scratch, `pg_restore -p ${port} -d '' --no-owner --no-acl -n ${shq(schema)} -t ${shq(table)}`);
  return [
    'set -e',
    'cd /',
    `if [ -n "$(${psql('postgres', `SELECT 1 FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(scratch)}`)})" ]; then echo ${shq(`database ${scratch} already exists: it is not reused; drop or rename it first`)} >&2; exit 3; fi`,
    psql('postgres', `CREATE DATABASE ${sqlIdent(scratch)}`),
    schema === 'public' ? 'true' : psql(scratch, `CREATE SCHEMA ${sqlIdent(schema)}`),
    `${restore} < ${shq(dump)}`,
    psql(scratch, `SELECT count(*) FROM ${sqlIdent(schema)}.${sqlIdent(table)}`),
  ].join('\n');
}

export const rescueTableAction: Action = {
  name: 'corruption.restore_table',
  summary: 'with table=SCHEMA.TABLE: that table from the backup before the damage into <database>__rescue, beside the live one',
  describe: (p) => (p.table ? `restore ${JSON.stringify(String(p.table))} from backup ${String(p.id)} into ${String(p.database)}__rescue on ${String(p.host)} (the live database untouched)` : 'nothing (set table=SCHEMA.TABLE to restore one table beside the live one)'),
  async run(p, ctx) {
    if (!p.table) {
      ctx.log('no table restored: run again with --set table=SCHEMA.TABLE to restore one beside the live one');
      return { database: null };
    }
    if (!p.id || !p.database) throw new SafetyRefusal('no backup from before the damage: nothing to restore a table from');
    const [host] = selectHosts(ctx.inv, [String(p.host)]);
    if (!host.backup || !host.postgres) throw new UserError(`${host.name} has no backup and postgres section in ${ctx.inv.file}`);
    const database = safeName('database', String(p.database));
    const [store] = selectHosts(ctx.inv, [host.backup.to]);
    const entry = (await readCatalog(await ctx.pool.get(store), store)).entries.find((e) => e.host === host.name && e.database === database && e.id === String(p.id));
    if (!entry) throw new UserError(`no backup ${String(p.id)} of ${host.name}/${database} on ${store.name}`, 'see ironclad backup list');
    const { schema, table } = splitTable(String(p.table));
    const dir = `${INTEGRITY_PATHS.dir}/rescue-${safeName('backup id', entry.id)}`;
    const conn = await ctx.pool.get(host);
    const fetched = await conn.run(fetchScript({ store, entry, dir, owner: 'postgres:' }));
    if (fetched.code !== 0) throw new OperationError(`fetching ${entry.id} onto ${host.name} failed (exit ${fetched.code}); the partial copy was removed\n${tail(fetched.stderr || fetched.stdout)}`);
    ctx.log(`${host.name}: backup ${entry.id} fetched and decrypted (${parseFetch(fetched.stdout).bytes} bytes)`);
    const scratch = `${database}__rescue`;
    try {
      const dump = `${dir}/dump.pgdump`;
      if ((await conn.run(`[ -f ${shq(dump)} ]`)).code !== 0) throw new UserError(`backup ${entry.id} is in directory format: restore one table from it by hand (pg_restore -n -t on ${dir}/dump), or use runbooks/restore-production.yaml`);
      const r = await conn.run(rescueScript({ port: host.postgres.port, scratch, schema, table, dump }));
      if (r.code !== 0) throw (r.code === 3 ? new SafetyRefusal(r.stderr.trim()) : new OperationError(`restoring ${sqlIdent(schema)}.${sqlIdent(table)} into ${scratch} on ${host.name} failed (exit ${r.code})\n${tail(r.stderr || r.stdout)}`));
      const rows = Number(r.stdout.trim().split('\n').pop());
      ctx.log(`${host.name}: ${sqlIdent(schema)}.${sqlIdent(table)} from ${entry.id} is in database ${scratch}: ${rows} rows, beside the live one`);
      return { database: scratch, rows };
    } finally {
      await conn.run(`rm -rf ${shq(dir)}`);
    }
  },
};
