// The swap (live -> __previous, incoming -> live, in one transaction), the swap back, and the latest events.
import { OperationError } from '../core/errors.js';
import { parseDuration } from '../inventory/schedule.js';
import type { Action } from '../runbook/types.js';
import { query, refreshOf, sideNames } from './db.js';
import { refuseProduction } from './guard.js';

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** SQL that renames databases in one transaction after closing every session on them (pure). The ended sessions are
 *  waited for (at most 2 s, polled every 10 ms); one still there makes the rename fail, and the swap tries again. */
export function renameSql(renames: [string, string][], closing: string[]): string {
  const names = closing.map((n) => `'${n.replace(/'/g, "''")}'`).join(', ');
  const others = `FROM pg_stat_activity WHERE datname IN (${names}) AND pid <> pg_backend_pid()`;
  return [
    ...closing.map((n) => `ALTER DATABASE ${q(n)} ALLOW_CONNECTIONS false;`),
    `SELECT count(pg_terminate_backend(pid)) ${others};`,
    `DO $$ BEGIN FOR i IN 1..200 LOOP EXIT WHEN NOT EXISTS (SELECT 1 ${others}); PERFORM pg_sleep(0.01); END LOOP; END $$;`,
    'BEGIN;',
    ...renames.map(([from, to]) => `ALTER DATABASE ${q(from)} RENAME TO ${q(to)};`),
    'COMMIT;',
  ].join('\n');
}

export const swapAction: Action = {
  name: 'refresh.swap',
  summary: 'end sessions, keep the live database as __previous, put the refreshed one in its place',
  destructive: true,
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    const { previous, incoming } = sideNames(r.spec.to.database);
    return `on ${r.target.name}: drop the old ${previous}, rename ${r.spec.to.database} to ${previous} and ${incoming} to ${r.spec.to.database} (sessions ended)`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    await refuseProduction(ctx, r.target); // once more, right before the only destructive step
    const db = r.spec.to.database;
    const { previous, incoming } = sideNames(db);
    const conn = await ctx.pool.get(r.target);
    const present = new Set((await query(conn, r.target, 'postgres', 'SELECT datname FROM pg_database')).map(([n]) => n));
    if (!present.has(incoming)) throw new OperationError(`${incoming} does not exist on ${r.target.name}: nothing to swap in`);
    if (present.has(previous)) await query(conn, r.target, 'postgres', `DROP DATABASE ${q(previous)} WITH (FORCE);`);
    const renames: [string, string][] = present.has(db) ? [[db, previous], [incoming, db]] : [[incoming, db]];
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const reopen = [db, ...(present.has(db) ? [previous] : [])].map((n) => `ALTER DATABASE ${q(n)} ALLOW_CONNECTIONS true;`).join('\n');
        await query(conn, r.target, 'postgres', `${renameSql(renames, [db, incoming].filter((n) => present.has(n)))}\n${reopen}`);
        ctx.log(`${db} is the refreshed copy; the old one is kept as ${previous} (ironclad refresh staging --swap-back restores it)`);
        return { live: db, previous: present.has(db) ? previous : null };
      } catch (e) {
        lastError = e;
        await query(conn, r.target, 'postgres', `ALTER DATABASE ${q(present.has(db) ? db : incoming)} ALLOW_CONNECTIONS true;`).catch(() => undefined);
      }
    }
    throw lastError;
  },
};

export const swapBackAction: Action = {
  name: 'refresh.swap_back',
  summary: 'put the previous database back in place (the refreshed one becomes __previous)',
  destructive: true,
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `on ${r.target.name}: exchange ${r.spec.to.database} and ${sideNames(r.spec.to.database).previous}`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    await refuseProduction(ctx, r.target);
    const db = r.spec.to.database;
    const { previous } = sideNames(db);
    const swapName = `${db}__swap`;
    const conn = await ctx.pool.get(r.target);
    await query(conn, r.target, 'postgres', `${renameSql([[db, swapName], [previous, db], [swapName, previous]], [db, previous])}\nALTER DATABASE ${q(db)} ALLOW_CONNECTIONS true;\nALTER DATABASE ${q(previous)} ALLOW_CONNECTIONS true;`);
    ctx.log(`${db} is the previous database again; the refreshed one is ${previous}`);
  },
};

export const eventsAction: Action = {
  name: 'refresh.events',
  summary: 'print the latest events and the age of the newest, loudly when it is stale',
  describe: (p, ctx) => {
    const e = refreshOf(ctx.inv, p).spec.events;
    return e ? `the latest ${e.limit} rows of ${e.table} by ${e.time_column}${e.warn_older_than ? `, warning past ${e.warn_older_than}` : ''}` : 'no events configured';
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const e = r.spec.events;
    if (!e) return;
    const conn = await ctx.pool.get(r.target);
    const rows = await query(conn, r.target, r.spec.to.database, `SELECT ${e.columns.map(q).join(', ')} FROM ${q(e.table)} ORDER BY ${q(e.time_column)} DESC LIMIT ${e.limit};`);
    const [[newest, age]] = await query(conn, r.target, r.spec.to.database, `SELECT max(${q(e.time_column)}), extract(epoch FROM now() - max(${q(e.time_column)}))::bigint FROM ${q(e.table)};`);
    const widths = e.columns.map((c, i) => Math.max(c.length, ...rows.map((row) => (row[i] ?? '').length)));
    ctx.log(e.columns.map((c, i) => c.padEnd(widths[i])).join('  '));
    for (const row of rows) ctx.log(row.map((v, i) => (v ?? '').padEnd(widths[i])).join('  '));
    const ageSeconds = Number(age);
    const limit = e.warn_older_than ? parseDuration(e.warn_older_than) : undefined;
    const stale = limit !== undefined && (!newest || ageSeconds > limit);
    ctx.log(`newest event: ${newest || 'none'} (${newest ? `${Math.round(ageSeconds / 3600)} h old` : 'the table is empty'})`);
    if (stale) ctx.log(`WARNING !!! the newest event is older than ${e.warn_older_than}: the backup is STALE. Check that backups run and that they dump the right instance.`);
    return { newest: newest || null, age_seconds: Number.isFinite(ageSeconds) ? ageSeconds : null, stale };
  },
};
