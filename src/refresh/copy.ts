// Pick the latest verified backup, fetch it from the store straight to the target (host to host) and decrypt it there,
// remove the copy afterwards.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { readCatalog, type BackupEntry } from '../backup/catalog.js';
import { countingOf, type Counting } from '../backup/counts.js';
import { fetchScript, parseFetch, safeName } from '../backup/fetch.js';
import { PATHS } from '../backup/render.js';
import { tail } from '../connectors/output.js';
import type { Refresh, StepRun } from './db.js';
import { inOwnGroup, runToken, trackFetch } from './fetch-group.js';

/** The backup a refresh restores: its id and what its manifest says. */
export interface PickedBackup {
  id: string;
  relative: string;
  time: string;
  rows: number;
  tables: number;
  newest_event: BackupEntry['newest_event'];
  row_counts: BackupEntry['row_counts'];
}

/** The latest verified backup of the refresh's source, or the backup `from` names ('latest' or nothing: the latest). */
export async function pickBackup(run: StepRun, r: Refresh, from: string | undefined): Promise<PickedBackup> {
  const { entries } = await readCatalog(await run.pool.get(r.store), r.store);
  const mine = entries.filter((e) => e.host === r.source.name && e.database === r.spec.from.database);
  const named = from && from !== 'latest' ? from : undefined;
  const chosen = named ? mine.find((e) => e.id === named) : mine.find((e) => e.verified);
  if (!chosen) {
    if (named) throw new UserError(`no backup ${named} of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`, 'see ironclad backup list');
    throw new SafetyRefusal(`no verified backup of ${r.source.name}/${r.spec.from.database} (${mine.length} unverified): run ironclad backup verify --host ${r.source.name} --latest --restore`);
  }
  run.log(`backup ${chosen.id}: ${chosen.tables} tables, ${chosen.rows} rows, taken ${chosen.time}${chosen.verified ? `, restore drill passed ${chosen.verified_at}` : ', NOT verified by a restore drill'}`);
  return { id: chosen.id, relative: chosen.path.slice(r.store.backup_store!.path.length).replace(/^\/+/, ''), time: chosen.time, rows: chosen.rows, tables: chosen.tables, newest_event: chosen.newest_event, row_counts: chosen.row_counts };
}

/** Where a backup is copied on the target (a folder of its own under the refresh directory). */
export const copyDir = (id: string) => `${PATHS.refreshDir}/${safeName('backup id', id)}`;

/** The target fetches backup `id` from the store with its read key, checks every checksum and decrypts it there. */
export async function copyBackup(run: StepRun, r: Refresh, o: { id: string; rowCounts: Record<string, number> }): Promise<{ dir: string; row_counts: Record<string, number>; counting: Counting }> {
  const dir = copyDir(o.id);
  const entry = { host: r.source.name, database: r.spec.from.database, id: o.id, row_counts: o.rowCounts };
  // in a process group of its own: the run's discard (a failure elsewhere, Ctrl-C) stops all of it first
  const conn = await run.pool.get(r.target);
  const res = await trackFetch(dir, conn.run(inOwnGroup(fetchScript({ store: r.store, entry, dir, owner: 'postgres:' }), dir, runToken())));
  if (res.code !== 0) throw new OperationError(`fetching ${o.id} onto ${r.target.name} failed (exit ${res.code}); the partial copy was removed\n${tail(res.stderr || res.stdout)}`);
  const { counts, bytes } = parseFetch(res.stdout);
  run.log(`${bytes} bytes in ${dir}, checksums verified${counts ? ', decrypted' : ' (a backup from before encryption)'}`);
  // (counting: how the backup counted its rows, for the check after the restore)
  return { dir, row_counts: counts?.row_counts ?? entry.row_counts, counting: countingOf(counts) };
}

/** Remove the copied backup `id` from the target. */
export async function removeCopy(run: StepRun, r: Refresh, id: string): Promise<void> {
  await (await run.pool.get(r.target)).run(`rm -rf ${shq(copyDir(id))}`);
}
