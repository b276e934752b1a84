// Pure planners for the backup wiring: each database host's job, each restoring host's keys, each store's account.
import { STATE_DIR } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { fileChange, lineDiff } from '../operations/diff.js';
import type { Change } from '../operations/types.js';
import { authorizedKeyLine, PATHS, readOnlyKeyLine, renderCron, renderHealthCron, renderJob, renderPruneCron, renderRecipients, renderStore, renderSudoers, renderTimer } from './render.js';
import { storeRootLayout, type BackupState } from '../facts/backup-state.js';

const apt = (pkgs: string[]) => ({ kind: 'sh' as const, script: `DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${pkgs.join(' ')}` });
const keygen = (path: string, comment: string) => `mkdir -p ${STATE_DIR} && ssh-keygen -q -t ed25519 -N '' -C ${shq(comment)} -f ${path}`;
const defined = (cs: (Change | undefined)[]) => cs.filter((c): c is Change => c !== undefined);

/** What one host does in the backup wiring: back up to a store, restore (read stores, hold an age identity), or both. */
export interface HostRole {
  host: Host;
  /** The store it backs up to (a database host with a backup: section). */
  store?: Host;
  /** True when the host restores backups (its own, a refresh's, drills): it holds an age identity and a read key. */
  restores: boolean;
  /** The known_hosts lines of every store it talks to. */
  knownHosts: string;
  /** For a database host: the hosts whose age identity its backups are encrypted to (key null: not known yet). */
  recipients: { name: string; key: string | null }[];
}

/** Changes on one host: tools, keys, the pinned store host keys, and for a database host its recipients, job and schedule. */
export function hostChanges(args: { role: HostRole; state: BackupState; gate: string; inventoryFile: string }): { changes: Change[]; waiting: string[] } {
  const { role, state } = args;
  const { host, store } = role;
  const out: (Change | undefined)[] = [];
  // (a host that restores decompresses the store's point-in-time archive, which zstd compresses)
  const tools = [!state.rsync && 'rsync', !state.age && 'age', role.restores && !state.zstd && 'zstd'].filter((t): t is string => Boolean(t));
  if (tools.length) out.push({ operation: 'backup', description: `install ${tools.join(', ')} (resumable transfers; encryption at rest${tools.includes('zstd') ? '; the archive\'s compression' : ''})`, commands: [apt(tools)] });
  if (store && !state.publicKey)
    out.push({ operation: 'backup', description: `create ${host.name}'s backup key ${PATHS.key} (it can only add ${host.name}'s backups to ${store.name})`, commands: [{ kind: 'sh', script: keygen(PATHS.key, `ironclad-backup@${host.name}`) }] });
  if (role.restores && !state.refreshKey)
    out.push({ operation: 'backup', description: `create ${host.name}'s read key ${PATHS.refreshKey} (reads only the backups it restores)`, commands: [{ kind: 'sh', script: keygen(PATHS.refreshKey, `ironclad-read@${host.name}`) }] });
  if (role.restores && !state.ageKey)
    out.push({
      operation: 'backup',
      description: `create ${host.name}'s age identity ${PATHS.identity} (decrypts the backups it restores; never leaves the host)`,
      commands: [{ kind: 'sh', script: `mkdir -p ${STATE_DIR} && (umask 077 && age-keygen -o ${PATHS.identity}.new 2>/dev/null && mv ${PATHS.identity}.new ${PATHS.identity})` }],
    });
  out.push(fileChange('backup', PATHS.knownHosts, state.files[PATHS.knownHosts], role.knownHosts, '644', 'the pinned host keys of the backup stores'));
  const waiting: string[] = [];
  if (store) {
    const known = role.recipients.filter((r) => r.key);
    waiting.push(...role.recipients.filter((r) => !r.key).map((r) => r.name));
    if (known.length) out.push(fileChange('backup', PATHS.recipients, state.files[PATHS.recipients], renderRecipients(known as { name: string; key: string }[], host.backup!.recipients ?? []), '644', 'the age recipients of its backups'));
    out.push(fileChange('backup', PATHS.job, state.files[PATHS.job], renderJob({ host, store, gate: args.gate, inventoryFile: args.inventoryFile }), '755', 'the backup job'));
    out.push(...scheduleChanges(host, state));
  }
  return { changes: defined(out), waiting };
}

/** The schedule: a systemd timer where systemd runs, a cron file otherwise. */
export function scheduleChanges(host: Host, state: BackupState): (Change | undefined)[] {
  if (!state.systemd) return [fileChange('backup', PATHS.cron, state.files[PATHS.cron], renderCron(host), '644', `the backup schedule ${host.backup!.schedule} (cron)`)];
  const units = renderTimer(host);
  const changed = [
    fileChange('backup', PATHS.service, state.files[PATHS.service], units.service, '644', 'the backup service unit'),
    fileChange('backup', PATHS.timer, state.files[PATHS.timer], units.timer, '644', `the backup timer ${host.backup!.schedule}`),
  ];
  if (changed.some(Boolean)) changed.push({ operation: 'backup', description: 'enable the backup timer', commands: [{ kind: 'sh', script: 'systemctl daemon-reload && systemctl enable --now ironclad-backup.timer' }] });
  return changed;
}

/** The layout a store must have: root owns the account's home, its keys, every committed backup; the account writes
 *  only its hosts' upload areas. Pure: the wanted `path owner group mode` lines against what the fact saw. */
export function layoutFix(store: Host, home: string, clients: string[], seen: string): Change | undefined {
  const user = store.backup_store!.user;
  const wanted = [`${home} root root 755`, `${home}/.ssh root root 755`, ...storeRootLayout(store, clients).map(([p, how]) => `${p} ${how}`)];
  const seenLines = seen.split('\n').map((l) => l.trim()).filter(Boolean);
  const wrong = [...wanted.filter((w) => !seenLines.includes(w)), ...seenLines.filter((l) => l.startsWith('FOREIGN '))];
  if (!wrong.length) return undefined;
  const make = storeRootLayout(store, clients).map(([p, how]) => {
    const [owner, group, mode] = how.split(' ');
    return mode === '644' ? `touch ${shq(p)} && chown ${owner}:${group} ${shq(p)} && chmod 644 ${shq(p)}` : `install -d -o ${owner} -g ${group} -m ${mode} ${shq(p)} && chown ${owner}:${group} ${shq(p)} && chmod ${mode} ${shq(p)}`;
  });
  const root = store.backup_store!.path;
  // backups committed before (by the upload account itself) become root's, read-only to the account
  // (links go; a drill result the store did not record goes too: such a backup is drilled again before it is trusted)
  const adopt = clients.map((c) => {
    const dir = shq(`${root}/${c}`);
    return `if [ -d ${dir} ]; then find ${dir} -type l -delete && find ${dir} -mindepth 3 -maxdepth 3 -name verified.json -user ${shq(user)} -delete && chown -R root:${user} ${dir} && find ${dir} -type d -exec chmod 750 {} + && find ${dir} -type f -exec chmod 440 {} +; fi`;
  });
  return {
    operation: 'store',
    description: `make root the owner of ${home}/.ssh and of every committed backup; ${user} writes only ${root}/incoming/<host> (fixes: ${wrong.map((w) => w.split(' ').slice(0, 2).join(' ')).join('; ')})`,
    commands: [{ kind: 'sh', script: [`install -d -o root -g root -m 755 ${shq(home)} ${shq(`${home}/.ssh`)}`, `chown root:root ${shq(home)} ${shq(`${home}/.ssh`)}`, `chmod 755 ${shq(home)} ${shq(`${home}/.ssh`)}`, `rm -f ${shq(`${home}/.ssh/authorized_keys2`)}`, ...make, ...adopt].join(' && \\\n') }],
  };
}

/** Changes on a store: tools, the restricted account, its script and sudo rule, the layout, keys, retention, health. */
export function storeChanges(args: { store: Host; clients: Host[]; state: BackupState; clientKeys: Map<string, string | null>; readers: { name: string; key: string | null; sources: string[] }[] }): { changes: Change[]; waiting: string[] } {
  const { store, clients, state } = args;
  const bs = store.backup_store!;
  const out: (Change | undefined)[] = [];
  const missing = [!state.rsync && 'rsync', !state.sudo && 'sudo'].filter((t): t is string => Boolean(t));
  if (missing.length) out.push({ operation: 'store', description: `install ${missing.join(', ')} (uploads; the commit as root)`, commands: [apt(missing)] });
  const home = state.storeUser.home ?? `/var/lib/${bs.user}`;
  if (!state.storeUser.exists)
    out.push({ operation: 'store', description: `create the restricted account ${bs.user}`, commands: [{ kind: 'sh', script: `useradd --system --no-create-home --home-dir ${shq(home)} --shell /bin/sh ${shq(bs.user)} && usermod -p '*' ${shq(bs.user)}` }] });
  out.push(fileChange('store', PATHS.store, state.files[PATHS.store], renderStore(store, clients), '755', "the store's script (forced commands, commit, retention, health)"));
  const sudoers = renderSudoers(store);
  if (state.files[PATHS.sudoers] !== sudoers)
    out.push({
      operation: 'store',
      description: `allow ${bs.user} to ask root for a commit, nothing else (${PATHS.sudoers})`,
      diff: lineDiff(state.files[PATHS.sudoers] ?? null, sudoers, PATHS.sudoers) ?? undefined,
      commands: [{ kind: 'sh', script: `t=$(mktemp) && cat > "$t" && visudo -q -c -f "$t" && install -m 440 -o root -g root "$t" ${PATHS.sudoers}; rc=$?; rm -f "$t"; exit $rc`, stdin: sudoers }],
    });
  out.push(layoutFix(store, home, clients.map((c) => c.name), state.storeLayout));
  const waiting = [...clients.filter((c) => !args.clientKeys.get(c.name)).map((c) => c.name), ...args.readers.filter((r) => !r.key).map((r) => r.name)];
  const keys = [
    ...clients.filter((c) => args.clientKeys.get(c.name)).map((c) => authorizedKeyLine(c.name, args.clientKeys.get(c.name)!)),
    ...args.readers.filter((r) => r.key).map((r) => readOnlyKeyLine(r.name, r.key!, r.sources)),
  ];
  const wanted = keys.length ? keys.join('\n') + '\n' : '';
  const keyFile = `${home}/.ssh/authorized_keys`;
  if (wanted && wanted !== (state.storeUser.authorizedKeys ?? ''))
    out.push({
      operation: 'store',
      description: `allow ${clients.filter((c) => args.clientKeys.get(c.name)).map((c) => c.name).join(', ') || 'no host'} to add (never delete) their own backups${args.readers.length ? `; ${args.readers.map((r) => `${r.name} to read ${r.sources.join(', ')}'s`).join('; ')}` : ''}`,
      diff: lineDiff(state.storeUser.authorizedKeys, wanted, keyFile),
      commands: [{ kind: 'upload', path: keyFile, content: wanted, mode: '644', owner: 'root:root' }],
    });
  out.push(fileChange('store', PATHS.pruneCron, state.files[PATHS.pruneCron], renderPruneCron(clients.map((c) => ({ host: c.name, retention: c.backup!.retention as { daily: number; weekly: number; monthly: number } }))), '644', 'retention'));
  out.push(fileChange('store', PATHS.healthCron, state.files[PATHS.healthCron], renderHealthCron(store), '644', "the store's health check"));
  return { changes: defined(out), waiting };
}
