// The `backup_state` fact, which takes the host and (for a store) its clients as arguments: what the backup wiring
// needs to know about a host: its keys, installed files, tools, the store's account and layout. Read like every other
// fact (gatherFactsWith), so that there is one way to read a host.
import type { Connector } from '../connectors/types.js';
import { BACKUP_PATHS as PATHS } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { gatherFactsWith } from './gather.js';
import type { ArgFact } from './types.js';

/** Installed state of the backup parts on one host; null = absent. */
export interface BackupState {
  publicKey: string | null;
  refreshKey: string | null;
  /** The age public key of the host's identity (hosts that restore). */
  ageKey: string | null;
  files: Record<string, string | null>;
  rsync: boolean;
  age: boolean;
  zstd: boolean;
  sudo: boolean;
  systemd: boolean;
  storeUser: { exists: boolean; home: string | null; authorizedKeys: string | null };
  /** A store's layout as `path owner group mode` lines (MISSING path / FOREIGN path for what is not as it should be). */
  storeLayout: string;
}

/** Files whose content the plan compares (job side and store side), by section name. */
export const WATCHED: Record<string, string> = {
  job: PATHS.job,
  cron: PATHS.cron,
  known: PATHS.knownHosts,
  store: PATHS.store,
  prune: PATHS.pruneCron,
  service: PATHS.service,
  timer: PATHS.timer,
  recipients: PATHS.recipients,
  sudoers: PATHS.sudoers,
  health: PATHS.healthCron,
};

/** A store's paths under its root and how they must be (`owner group mode`): root owns all but each host's upload area. */
export function storeRootLayout(store: Host, clients: string[]): [string, string][] {
  const { path: root, user } = store.backup_store!;
  return [
    [root, 'root root 755'],
    [`${root}/incoming`, `root ${user} 750`],
    [`${root}/.locks`, 'root root 755'],
    [`${root}/.staging`, 'root root 700'],
    ...clients.flatMap((c): [string, string][] => [[`${root}/incoming/${c}`, `${user} ${user} 700`], [`${root}/.locks/${c}`, 'root root 644']]),
  ];
}

/** The read-only commands, one section each. */
export function backupStateCommands(host: Host, clients: string[] = []): { name: string; command: string }[] {
  const user = host.backup_store?.user;
  const cmds = [
    { name: 'pubkey', command: `cat ${PATHS.key}.pub 2>/dev/null || exit 1` },
    { name: 'refreshkey', command: `cat ${PATHS.refreshKey}.pub 2>/dev/null || exit 1` },
    { name: 'agekey', command: `[ -f ${PATHS.identity} ] || exit 1; age-keygen -y ${PATHS.identity}` },
    { name: 'tools', command: 'for t in rsync age zstd sudo; do command -v $t >/dev/null && echo $t; done; [ -d /run/systemd/system ] && echo systemd; true' },
    ...Object.entries(WATCHED).map(([name, p]) => ({ name: `file_${name}`, command: `[ -f ${p} ] || exit 1; cat ${p}` })),
  ];
  if (user) {
    const home = `$(getent passwd ${shq(user)} | cut -d: -f6)`;
    cmds.push({ name: 'store_user', command: `getent passwd ${shq(user)} >/dev/null || exit 1; h=${home}; echo "$h"; cat "$h/.ssh/authorized_keys" 2>/dev/null || true` });
    const root = host.backup_store!.path;
    cmds.push({
      name: 'store_layout',
      command: `h=${home}; for p in "\${h:-/nonexistent}" "\${h:-/nonexistent}/.ssh" ${storeRootLayout(host, clients).map(([p]) => shq(p)).join(' ')}; do stat -c '%n %U %G %a' "$p" 2>/dev/null || echo "MISSING $p"; done; for c in ${clients.map(shq).join(' ')}; do [ ! -d ${shq(root)}/"$c" ] || [ -z "$(find ${shq(root)}/"$c" ! -user root -print -quit)" ] || echo FOREIGN ${shq(root)}/"$c"; done; true`,
    });
  }
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
  const has = (t: string) => new RegExp(`^${t}$`, 'm').test(tools);
  return {
    publicKey: ok('pubkey')?.trim() || null,
    refreshKey: ok('refreshkey')?.trim() || null,
    ageKey: ok('agekey')?.trim().match(/^age1[0-9a-z]{58}$/)?.[0] ?? null,
    files,
    rsync: has('rsync'),
    age: has('age'),
    zstd: has('zstd'),
    sudo: has('sudo'),
    systemd: has('systemd'),
    storeUser: su === null ? { exists: false, home: null, authorizedKeys: null } : { exists: true, home: home.trim() || null, authorizedKeys: keys.join('\n') },
    storeLayout: (ok('store_layout') ?? '').trim(),
  };
}

/** The fact: its arguments are the host and, for a store, the hosts that back up to it. */
export const backupStateFact: ArgFact<{ host: Host; clients: string[] }, BackupState> = {
  name: 'backup_state',
  sections: ({ host, clients }) => backupStateCommands(host, clients),
  parse: parseBackupState,
};

/** Gather the backup state of a host in one round trip (`clients`: the hosts that back up to it, for a store). */
export async function gatherBackupState(conn: Connector, host: Host, clients: string[] = []): Promise<BackupState> {
  return (await gatherFactsWith(conn, [], { fact: backupStateFact, args: { host, clients } })).value;
}
