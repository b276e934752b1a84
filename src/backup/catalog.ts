// The store's catalog as ironclad reads it (as root, over SSH): what the store recorded of every committed backup
// (store.json: its own id and receive time, and the manifest it validated at commit) and the drill's result. Backups
// committed before the store kept records (unencrypted) are read from their manifest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '../connectors/types.js';
import { packageRoot } from '../core/paths.js';
import { shq } from '../core/quote.js';
import { sh } from '../executor/run.js';
import { shellSums } from './render.js';
import { isValid } from '../inventory/schema.js';
import type { Host } from '../inventory/types.js';

/** One backup as `backup list` shows it (the contract's fields first). */
export interface BackupEntry {
  id: string;
  host: string;
  database: string;
  time: string;
  bytes: number;
  tables: number;
  rows: number;
  system_identifier: string;
  verified: boolean;
  verified_at: string | null;
  store: string;
  path: string;
  newest_event: string | null;
  /** Encrypted at rest (age); false for backups taken before encryption. */
  encrypted: boolean;
  /** The database host's own clock when the dump finished (recorded, never trusted). */
  host_time: string | null;
  /** Legacy backups only: the row counts from their plaintext manifest (encrypted ones carry them inside). */
  row_counts: Record<string, number>;
}

/** Shell that prints `path<TAB>record<TAB>verified-or-null` for each committed backup (record: store.json, or a
 *  legacy backup's manifest.json); only folders root owns (one the upload account made is no backup). */
export function catalogScript(root: string): string {
  return `for d in ${shq(root)}/*/*/*/; do d=\${d%/}; case "$d" in ${shq(root)}/incoming/*) continue;; esac; [ "$(stat -c %u "$d")" = 0 ] || continue; if [ -f "$d/store.json" ]; then m="$d/store.json"; elif [ -f "$d/manifest.json" ]; then m="$d/manifest.json"; else continue; fi; printf '%s\\t' "$d"; tr -d '\\n\\t' < "$m"; printf '\\t'; if [ -f "$d/verified.json" ]; then tr -d '\\n\\t' < "$d/verified.json"; else printf null; fi; echo; done`;
}

/** Pure: one catalog record to an entry; null when it is not a record the store wrote (or a legacy manifest). */
function entryOf(store: string, path: string, record: any, v: any): BackupEntry | null {
  const stored = record && typeof record.manifest === 'object' ? record : null;
  const m = stored ? stored.manifest : record;
  const id = stored ? stored.id : m?.id;
  if (typeof id !== 'string' || !/^[A-Za-z0-9._$-]+$/.test(id) || path.split('/').pop() !== id) return null;
  if (stored && !isValid('manifest', m)) return null;
  const [ph, pd] = path.split('/').slice(-3);
  if (m?.host !== ph || m?.database !== pd || (stored && (stored.host !== ph || stored.database !== pd))) return null;
  return {
    id,
    host: String(m.host),
    database: String(m.database),
    time: String(stored ? stored.received_at : m.finished_at),
    bytes: Number(m.bytes),
    tables: Number(m.tables),
    rows: Number(m.rows),
    system_identifier: String(m.system_identifier),
    verified: v?.verified === true,
    verified_at: v?.at ?? null,
    store,
    path,
    newest_event: m.newest_event ?? null,
    encrypted: m.encrypted === true,
    host_time: stored ? (m.finished_at ?? null) : null,
    row_counts: stored ? {} : (m.row_counts ?? {}),
  };
}

/** Pure: catalog lines to entries, newest first; unreadable manifests are skipped with a note. */
export function parseCatalog(store: string, output: string): { entries: BackupEntry[]; unreadable: string[] } {
  const entries: BackupEntry[] = [];
  const unreadable: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const [path, record, verified] = line.split('\t');
    try {
      const entry = entryOf(store, path, JSON.parse(record), verified && verified !== 'null' ? JSON.parse(verified) : null);
      if (entry) entries.push(entry);
      else unreadable.push(path);
    } catch {
      unreadable.push(path);
    }
  }
  // newest first by the store's time; backups from before the store kept records (their time is their host's) after all
  // the ones it recorded, so no host clock ever puts one first
  entries.sort((a, b) => Number(a.host_time === null && !a.encrypted) - Number(b.host_time === null && !b.encrypted) || b.time.localeCompare(a.time) || b.id.localeCompare(a.id));
  return { entries, unreadable };
}

/** Read a store's catalog. */
export async function readCatalog(conn: Connector, store: Host): Promise<{ entries: BackupEntry[]; unreadable: string[] }> {
  return parseCatalog(store.name, await sh(conn, catalogScript(store.backup_store!.path)));
}

/** The verification script run on the store as root: `sh -s DIR [--restore]`. */
export function verifyScript(): string {
  return [shellSums(), readFileSync(join(packageRoot(), 'src', 'backup', 'verify.sh'), 'utf8')].join('\n');
}

/** Pure: the verify script's output to problems and the drill result. */
export function parseVerify(output: string): { problems: string[]; drill: { verified: boolean; at: string; seconds: number } | null } {
  const problems: string[] = [];
  let drill = null;
  for (const line of output.split('\n')) {
    const [kind, ...rest] = line.split('\t');
    if (kind === 'problem') problems.push(rest.join('\t'));
    if (kind === 'result') drill = JSON.parse(rest.join('\t')).drill;
  }
  return { problems, drill };
}
