// The store's catalog as ironclad reads it (as root, over SSH): every committed backup's manifest and drill result.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '../connectors/types.js';
import { packageRoot } from '../core/paths.js';
import { shq } from '../core/quote.js';
import { sh } from '../executor/run.js';
import { shellSums } from './render.js';
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
  row_counts: Record<string, number>;
}

/** Shell that prints `path<TAB>manifest<TAB>verified-or-null` for each committed backup. */
export function catalogScript(root: string): string {
  return `for m in ${shq(root)}/*/*/*/manifest.json; do [ -f "$m" ] || continue; d=\${m%/manifest.json}; case "$d" in */incoming/*) continue;; esac; printf '%s\\t' "$d"; tr -d '\\n\\t' < "$m"; printf '\\t'; if [ -f "$d/verified.json" ]; then tr -d '\\n\\t' < "$d/verified.json"; else printf null; fi; echo; done`;
}

/** Pure: catalog lines to entries, newest first; unreadable manifests are skipped with a note. */
export function parseCatalog(store: string, output: string): { entries: BackupEntry[]; unreadable: string[] } {
  const entries: BackupEntry[] = [];
  const unreadable: string[] = [];
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const [path, manifest, verified] = line.split('\t');
    try {
      const m = JSON.parse(manifest);
      const v = verified && verified !== 'null' ? JSON.parse(verified) : null;
      entries.push({
        id: m.id,
        host: m.host,
        database: m.database,
        time: m.finished_at,
        bytes: Number(m.bytes),
        tables: Number(m.tables),
        rows: Number(m.rows),
        system_identifier: String(m.system_identifier),
        verified: v?.verified === true,
        verified_at: v?.at ?? null,
        store,
        path,
        newest_event: m.newest_event ?? null,
        row_counts: m.row_counts ?? {},
      });
    } catch {
      unreadable.push(path);
    }
  }
  entries.sort((a, b) => b.id.localeCompare(a.id));
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
