// Pick the latest verified backup, fetch it from the store straight to the target (host to host) and decrypt it there,
// remove the copy afterwards.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { readCatalog } from '../backup/catalog.js';
import { countingOf } from '../backup/counts.js';
import { fetchScript, parseFetch, safeName } from '../backup/fetch.js';
import { PATHS } from '../backup/render.js';
import { tail } from '../executor/run.js';
import type { Action } from '../runbook/types.js';
import { refreshOf } from './db.js';

export const pickAction: Action = {
  name: 'refresh.pick_backup',
  summary: 'the latest verified backup of the refresh source (or a given id)',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return p.from && p.from !== 'latest' ? `backup ${String(p.from)} of ${r.source.name}/${r.spec.from.database}` : `the latest verified backup of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const { entries } = await readCatalog(await ctx.pool.get(r.store), r.store);
    const mine = entries.filter((e) => e.host === r.source.name && e.database === r.spec.from.database);
    const chosen = p.from && p.from !== 'latest' ? mine.find((e) => e.id === p.from) : mine.find((e) => e.verified);
    if (!chosen) {
      if (p.from && p.from !== 'latest') throw new UserError(`no backup ${String(p.from)} of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`, 'see ironclad backup list');
      throw new SafetyRefusal(`no verified backup of ${r.source.name}/${r.spec.from.database} (${mine.length} unverified): run ironclad backup verify --host ${r.source.name} --latest --restore`);
    }
    ctx.log(`backup ${chosen.id}: ${chosen.tables} tables, ${chosen.rows} rows, taken ${chosen.time}${chosen.verified ? `, restore drill passed ${chosen.verified_at}` : ', NOT verified by a restore drill'}`);
    return { id: chosen.id, relative: chosen.path.slice(r.store.backup_store!.path.length).replace(/^\/+/, ''), time: chosen.time, rows: chosen.rows, tables: chosen.tables, newest_event: chosen.newest_event, row_counts: chosen.row_counts };
  },
};

export const copyAction: Action = {
  name: 'refresh.copy',
  summary: 'the target fetches the backup from the store with its read key (resumable), checks every checksum and decrypts it with its own identity',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `${r.target.name} fetches ${String(p.id ?? 'the backup')} from ${r.store.name} with its read key (host to host), checks every checksum, decrypts it there (0600 files in a 0700 folder)`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const dir = `${PATHS.refreshDir}/${safeName('backup id', String(p.id))}`;
    const entry = { host: r.source.name, database: r.spec.from.database, id: String(p.id), row_counts: (p.row_counts ?? {}) as Record<string, number> };
    const res = await (await ctx.pool.get(r.target)).run(fetchScript({ store: r.store, entry, dir, owner: 'postgres:' }));
    if (res.code !== 0) throw new OperationError(`fetching ${String(p.id)} onto ${r.target.name} failed (exit ${res.code}); the partial copy was removed\n${tail(res.stderr || res.stdout)}`);
    const { counts, bytes } = parseFetch(res.stdout);
    ctx.log(`${bytes} bytes in ${dir}, checksums verified${counts ? ', decrypted' : ' (a backup from before encryption)'}`);
    // (counting: how the backup counted its rows, for the check after the restore)
    return { dir, row_counts: counts?.row_counts ?? entry.row_counts, counting: countingOf(counts) };
  },
};

export const cleanupAction: Action = {
  name: 'refresh.cleanup',
  summary: 'remove the copied backup from the target',
  describe: (p, ctx) => `remove ${PATHS.refreshDir}/${String(p.id ?? '...')} on ${refreshOf(ctx.inv, p).target.name}`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    await (await ctx.pool.get(r.target)).run(`rm -rf ${shq(`${PATHS.refreshDir}/${safeName('backup id', String(p.id))}`)}`);
  },
};
