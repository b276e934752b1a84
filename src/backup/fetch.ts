// Fetching a committed backup onto a host that restores it (a refresh target, a drill host, the database host
// itself): the host pulls it from the store with its read key, checks it, decrypts it with its own identity.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { shqAlways } from '../core/quote.js';
import { UserError } from '../core/errors.js';
import type { Host } from '../inventory/types.js';
import type { BackupEntry } from './catalog.js';
import { shellSums, SSH_CIPHERS } from './render.js';

/** A name that may become part of a path (host, database, backup id): no slash, no dot first, no `..`. */
export function safeName(what: string, value: string): string {
  if (!/^[A-Za-z0-9_$-][A-Za-z0-9._$-]{0,199}$/.test(value)) throw new UserError(`refusing ${what} ${JSON.stringify(value)}: not a plain name`);
  return value;
}

/** The script that fetches `entry` from `store` into `dir` on the host that runs it, readable by `owner` only. */
export function fetchScript(args: { store: Host; entry: Pick<BackupEntry, 'host' | 'database' | 'id'>; dir: string; owner: string }): string {
  const { store, entry } = args;
  const src = [safeName('host', entry.host), safeName('database', entry.database), safeName('backup id', entry.id)].join(' ');
  const vars = { STORE: `${store.backup_store!.user}@${store.address}`, PORT: store.ssh.port, SRC: src, DIR: args.dir, OWNER: args.owner, CIPHERS: SSH_CIPHERS };
  return ['# shellcheck disable=SC2015  # `A && B || fail`: fail when either fails, as meant', Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`).join('\n'), shellSums(), readFileSync(join(packageRoot(), 'src', 'backup', 'fetch.sh'), 'utf8')].join('\n');
}

/** Pure: what the fetch printed: the row counts the backup carries (null for a legacy backup) and the bytes fetched. */
export function parseFetch(stdout: string): { counts: { tables: number; rows: number; row_counts: Record<string, number>; counting?: string } | null; bytes: number } {
  const line = (tag: string) => stdout.split('\n').find((l) => l.startsWith(`@@${tag} `))?.slice(tag.length + 3) ?? 'null';
  const counts = JSON.parse(line('counts'));
  return { counts: counts && typeof counts.row_counts === 'object' ? counts : null, bytes: Number(line('bytes')) || 0 };
}
