// Pure planners for the backup wiring: the job on each database host, the restricted account on each store.
import { shq } from '../core/quote.js';
import type { Host, Inventory } from '../inventory/types.js';
import { lineDiff } from '../operations/diff.js';
import type { Change } from '../operations/types.js';
import { authorizedKeyLine, PATHS, readOnlyKeyLine, renderCron, renderJob, renderPruneCron, renderStore, renderTimer } from './render.js';
import type { BackupState } from './state.js';

function fileChange(operation: string, path: string, current: string | null | undefined, content: string, mode: string, what: string): Change | undefined {
  current = current ?? null;
  const diff = lineDiff(current, content, path);
  if (!diff) return undefined;
  return { operation, description: `${current === null ? 'install' : 'update'} ${what} (${path})`, diff: diff.length > 4000 ? `${diff.slice(0, 4000)}\n  ... (diff cut)` : diff, commands: [{ kind: 'upload', path, content, mode }] };
}

const apt = (pkgs: string) => `DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${pkgs}`;

/** Changes on a database host: rsync, its own key to the store, the store's pinned host key, the job and its schedule. */
export function jobChanges(args: { inv: Inventory; host: Host; state: BackupState; gate: string; storeKnownHosts: string }): Change[] {
  const { inv, host, state } = args;
  const store = inv.hosts.find((h) => h.name === host.backup!.to)!;
  const out: (Change | undefined)[] = [];
  if (!state.rsync) out.push({ operation: 'backup', description: 'install rsync (resumable transfers to the store)', commands: [{ kind: 'sh', script: apt('rsync') }] });
  if (!state.publicKey)
    out.push({
      operation: 'backup',
      description: `create ${host.name}'s backup key ${PATHS.key} (it can only add backups to ${store.name})`,
      commands: [{ kind: 'sh', script: `mkdir -p /var/lib/ironclad && ssh-keygen -q -t ed25519 -N '' -C ${shq(`ironclad-backup@${host.name}`)} -f ${PATHS.key}` }],
    });
  out.push(fileChange('backup', PATHS.knownHosts, state.files[PATHS.knownHosts], args.storeKnownHosts, '644', `the pinned host key of ${store.name}`));
  out.push(fileChange('backup', PATHS.job, state.files[PATHS.job], renderJob({ host, store, gate: args.gate, inventoryFile: inv.file }), '755', 'the backup job'));
  out.push(...scheduleChanges(host, state));
  return out.filter((c): c is Change => c !== undefined);
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

/** Changes on a refresh target: its own key to read the store (read-only), and the store's pinned host key. */
export function refreshTargetChanges(args: { host: Host; store: Host; state: BackupState; storeKnownHosts: string; alsoBacksUp: boolean }): Change[] {
  const { host, store, state } = args;
  const out: (Change | undefined)[] = [];
  if (!state.rsync) out.push({ operation: 'refresh', description: 'install rsync (copies from the store)', commands: [{ kind: 'sh', script: apt('rsync') }] });
  if (!state.refreshKey)
    out.push({
      operation: 'refresh',
      description: `create ${host.name}'s refresh key ${PATHS.refreshKey} (read-only access to ${store.name}'s backups)`,
      commands: [{ kind: 'sh', script: `mkdir -p /var/lib/ironclad && ssh-keygen -q -t ed25519 -N '' -C ${shq(`ironclad-refresh@${host.name}`)} -f ${PATHS.refreshKey}` }],
    });
  if (!args.alsoBacksUp) out.push(fileChange('refresh', PATHS.knownHosts, state.files[PATHS.knownHosts], args.storeKnownHosts, '644', `the pinned host key of ${store.name}`));
  return out.filter((c): c is Change => c !== undefined);
}

/** Changes on a store: tools for restore drills, the restricted account, its forced command, keys of the hosts that back up here, retention. */
export function storeChanges(args: { inv: Inventory; store: Host; state: BackupState; publicKeys: Map<string, string | null>; refreshKeys: Map<string, string | null> }): { changes: Change[]; waiting: string[] } {
  const { inv, store, state } = args;
  const bs = store.backup_store!;
  const clients = inv.hosts.filter((h) => h.backup?.to === store.name);
  const out: (Change | undefined)[] = [];
  const missing = [!state.rsync && 'rsync', !state.pgRestore && `postgresql-${Math.max(15, ...clients.map((c) => c.postgres?.version ?? 15))}`].filter(Boolean);
  if (missing.length)
    out.push({ operation: 'store', description: `install ${missing.join(', ')} (uploads; restore drills)`, commands: [{ kind: 'sh', script: `pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false 2>/dev/null; ${apt(missing.join(' '))}` }] });
  const home = `/var/lib/${bs.user}`;
  if (!state.storeUser.exists)
    out.push({
      operation: 'store',
      description: `create the restricted account ${bs.user} and ${bs.path}`,
      commands: [{ kind: 'sh', script: `useradd --system --create-home --home-dir ${shq(home)} --shell /bin/sh ${shq(bs.user)} && usermod -p '*' ${shq(bs.user)} && mkdir -p ${shq(bs.path)}/incoming && chown ${shq(bs.user)}: ${shq(bs.path)} ${shq(bs.path)}/incoming && chmod 750 ${shq(bs.path)}` }],
    });
  out.push(fileChange('store', PATHS.store, state.files[PATHS.store], renderStore(store), '755', "the store's forced command"));
  const readers = [...args.refreshKeys.keys()];
  const waiting = [...clients.filter((c) => !args.publicKeys.get(c.name)).map((c) => c.name), ...readers.filter((r) => !args.refreshKeys.get(r))];
  const keys = [
    ...clients.filter((c) => args.publicKeys.get(c.name)).map((c) => authorizedKeyLine(c.name, args.publicKeys.get(c.name)!)),
    ...readers.filter((r) => args.refreshKeys.get(r)).map((r) => readOnlyKeyLine(r, args.refreshKeys.get(r)!, bs.path)),
  ];
  const wanted = keys.length ? keys.join('\n') + '\n' : '';
  const keyFile = `${state.storeUser.home ?? home}/.ssh/authorized_keys`;
  if (wanted && wanted !== (state.storeUser.authorizedKeys ?? ''))
    out.push({
      operation: 'store',
      description: `allow ${clients.filter((c) => args.publicKeys.get(c.name)).map((c) => c.name).join(', ') || 'no host'} to add (never delete) backups${readers.length ? `, ${readers.join(', ')} to read them for refreshes` : ''}`,
      diff: lineDiff(state.storeUser.authorizedKeys, wanted, keyFile),
      commands: [
        { kind: 'sh', script: `install -d -m 700 -o ${shq(bs.user)} ${shq(keyFile.replace(/\/authorized_keys$/, ''))}` },
        { kind: 'upload', path: keyFile, content: wanted, mode: '600', owner: `${bs.user}:` },
      ],
    });
  out.push(fileChange('store', PATHS.pruneCron, state.files[PATHS.pruneCron], renderPruneCron(clients.map((c) => ({ host: c.name, retention: c.backup!.retention as { daily: number; weekly: number; monthly: number } }))), '644', 'retention'));
  return { changes: out.filter((c): c is Change => c !== undefined), waiting };
}
