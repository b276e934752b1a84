// Restore drills, on a host that holds the decryption identity (never the store): fetch, restore as an unprivileged
// user and role into a scratch cluster, compare every table's rows with what the backup says, as exact strings.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../core/errors.js';
import { HOST_PATHS } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shqAlways } from '../core/quote.js';
import { LEFT_OUT_SOURCE, NOTE_ON_LEFT_OUT_SOURCE } from '../core/toc.js';
import type { ConnectionPool } from '../executor/pool.js';
import { tail } from '../connectors/output.js';
import type { Host } from '../inventory/types.js';
import type { BackupEntry } from './catalog.js';
import { countingOf, countsAs, countSql, parseCounted, type Counted } from './counts.js';
import { fetchScript, parseFetch, safeName } from './fetch.js';

const body = (name: string) => readFileSync(join(packageRoot(), 'src', 'backup', name), 'utf8');

/** The row-count query of the backup job and the drill (one query, every table, JSON with the exact names). */
export { countSql };

/** The drill script for a fetched backup in `dir`. */
export function drillScript(dir: string): string {
  return [`DIR=${shqAlways(dir)}`, `LEFT_OUT=${shqAlways(LEFT_OUT_SOURCE)}`, `NOTE_ON_LEFT_OUT=${shqAlways(NOTE_ON_LEFT_OUT_SOURCE)}`, body('drill.sh').replace('@@COUNT_SQL@@', countSql())].join('\n');
}

/** Pure: the drill's output. */
export function parseDrill(stdout: string): { server: string | null; restoreExit: number | null; log: string[]; notes: string[]; counted: Counted | null } {
  const lines = stdout.split('\n');
  const tagged = (tag: string) => lines.filter((l) => l.startsWith(`@@${tag} `)).map((l) => l.slice(tag.length + 3));
  const counted = parseCounted(lines.find((l) => l.startsWith('@@counts\t'))?.split('\t'));
  return { server: tagged('server')[0] ?? null, restoreExit: tagged('restore').length ? Number(tagged('restore')[0]) : null, log: tagged('log'), notes: tagged('note'), counted };
}

/** Pure: every difference between the rows a backup says it holds and the rows restored, names compared exactly. */
export function compareCounts(expected: Record<string, number>, restored: Record<string, number>): string[] {
  const problems: string[] = [];
  const show = (name: string) => JSON.stringify(name);
  for (const [name, want] of Object.entries(expected)) {
    if (!(name in restored)) problems.push(`restore drill: table ${show(name)} is not in the restored database (the backup says ${want} rows)`);
    else if (restored[name] !== want) problems.push(`restore drill: ${show(name)} has ${restored[name]} rows restored, the backup says ${want}`);
  }
  for (const name of Object.keys(restored)) if (!(name in expected)) problems.push(`restore drill: table ${show(name)} was restored but the backup does not list it`);
  return problems;
}

/** Run a drill of `entry` on `host`: problems found (none: it passed), and how long it took. */
export async function runDrill(args: { pool: ConnectionPool; store: Host; host: Host; entry: BackupEntry; log: (line: string) => void }): Promise<{ problems: string[]; seconds: number; server: string | null }> {
  const { entry, host } = args;
  const started = Date.now();
  const dir = `${HOST_PATHS.drill}/${safeName('backup id', entry.id)}`;
  const conn = await args.pool.get(host);
  args.log(`${entry.id}: fetching from ${args.store.name} onto ${host.name}`);
  const fetched = await conn.run(fetchScript({ store: args.store, entry, dir, owner: 'root:' }));
  if (fetched.code !== 0) throw new OperationError(`${host.name}: fetching ${entry.id} for the drill failed (exit ${fetched.code})\n${tail(fetched.stderr || fetched.stdout)}`);
  const { counts, bytes } = parseFetch(fetched.stdout);
  args.log(`${entry.id}: ${bytes} bytes fetched and decrypted; restoring into a scratch cluster as an unprivileged user`);
  const drilled = await conn.run(drillScript(dir));
  if (drilled.code !== 0) throw new OperationError(`${host.name}: the restore drill of ${entry.id} could not run (exit ${drilled.code})\n${tail(drilled.stderr || drilled.stdout)}`);
  const d = parseDrill(drilled.stdout);
  for (const note of d.notes) args.log(`${entry.id}: ${note}`);
  const problems: string[] = [];
  if (d.restoreExit !== 0) problems.push(`restore drill: pg_restore failed (exit ${d.restoreExit}): ${d.log.slice(0, 3).join(' | ')}`);
  if (!d.counted) problems.push('restore drill: the restored rows could not be counted');
  // (a backup counted before each row was counted once: the restored rows counted as it counted them)
  else problems.push(...compareCounts(counts?.row_counts ?? entry.row_counts, countsAs(countingOf(counts), d.counted)));
  return { problems, seconds: Math.round((Date.now() - started) / 1000), server: d.server };
}
