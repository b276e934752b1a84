// What the backup wiring needs to know about a host: its key, installed job files, the store account.
import type { Connector } from '../connectors/types.js';
import { shq } from '../core/quote.js';
import { buildFactScript, newNonce, splitSections } from '../facts/script.js';
import type { Host } from '../inventory/types.js';
import { PATHS } from './render.js';

/** Installed state of the backup parts on one host; null = absent. */
export interface BackupState {
  publicKey: string | null;
  refreshKey: string | null;
  files: Record<string, string | null>;
  rsync: boolean;
  pgRestore: boolean;
  systemd: boolean;
  storeUser: { exists: boolean; home: string | null; authorizedKeys: string | null };
}

/** Files whose content the plan compares (job side and store side), by section name. */
export const WATCHED: Record<string, string> = { job: PATHS.job, cron: PATHS.cron, known: PATHS.knownHosts, store: PATHS.store, prune: PATHS.pruneCron, service: PATHS.service, timer: PATHS.timer };

/** The read-only commands, one section each. */
export function backupStateCommands(host: Host): { name: string; command: string }[] {
  const user = host.backup_store?.user;
  const cmds = [
    { name: 'pubkey', command: `cat ${PATHS.key}.pub 2>/dev/null || exit 1` },
    { name: 'refreshkey', command: `cat ${PATHS.refreshKey}.pub 2>/dev/null || exit 1` },
    { name: 'tools', command: 'command -v rsync >/dev/null && echo rsync; ls /usr/lib/postgresql/*/bin/pg_restore >/dev/null 2>&1 && echo pg_restore; [ -d /run/systemd/system ] && echo systemd; true' },
    ...Object.entries(WATCHED).map(([name, p]) => ({ name: `file_${name}`, command: `[ -f ${p} ] || exit 1; cat ${p}` })),
  ];
  if (user)
    cmds.push({
      name: 'store_user',
      command: `getent passwd ${shq(user)} >/dev/null || exit 1; h=$(getent passwd ${shq(user)} | cut -d: -f6); echo "$h"; cat "$h/.ssh/authorized_keys" 2>/dev/null || true`,
    });
  return cmds;
}

/** Pure: sections back to a BackupState. */
export function parseBackupState(sections: Map<string, { code: number; stdout: string }>): BackupState {
  const ok = (n: string) => (sections.get(n)?.code === 0 ? sections.get(n)!.stdout : null);
  const files: Record<string, string | null> = {};
  for (const [name, p] of Object.entries(WATCHED)) files[p] = ok(`file_${name}`);
  const tools = ok('tools') ?? '';
  const su = ok('store_user');
  const [home, ...keys] = (su ?? '').split('\n');
  return {
    publicKey: ok('pubkey')?.trim() || null,
    refreshKey: ok('refreshkey')?.trim() || null,
    files,
    rsync: /^rsync$/m.test(tools),
    pgRestore: /^pg_restore$/m.test(tools),
    systemd: /^systemd$/m.test(tools),
    storeUser: su === null ? { exists: false, home: null, authorizedKeys: null } : { exists: true, home: home.trim() || null, authorizedKeys: keys.join('\n') },
  };
}

/** Gather the backup state of a host in one round trip. */
export async function gatherBackupState(conn: Connector, host: Host): Promise<BackupState> {
  const nonce = newNonce();
  const result = await conn.run(buildFactScript(backupStateCommands(host), nonce));
  return parseBackupState(splitSections(result.stdout, nonce));
}
