// The backup job and the store's forced command, rendered from the inventory: POSIX sh, no Node.js on servers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { shq, shqAlways } from '../core/quote.js';
import { parseSchedule } from '../inventory/schedule.js';
import type { Host } from '../inventory/types.js';

/** Where things live on the hosts. */
export const PATHS = {
  job: '/usr/local/sbin/ironclad-backup',
  store: '/usr/local/sbin/ironclad-store',
  cron: '/etc/cron.d/ironclad-backup',
  service: '/etc/systemd/system/ironclad-backup.service',
  timer: '/etc/systemd/system/ironclad-backup.timer',
  pruneCron: '/etc/cron.d/ironclad-retention',
  key: '/var/lib/ironclad/backup_ed25519',
  refreshKey: '/var/lib/ironclad/refresh_ed25519',
  refreshDir: '/var/lib/ironclad/refresh',
  knownHosts: '/var/lib/ironclad/known_hosts',
  work: '/var/lib/ironclad/backup-work',
  status: '/var/lib/ironclad/backup-status.json',
} as const;

const body = (name: string) => readFileSync(join(packageRoot(), 'src', 'backup', name), 'utf8');

/** The ciphers of the SSH transfers between hosts: OpenSSH's own, AES-GCM first (the CPU's AES instructions: a copy
 *  of a 118 MB dump took 0.60 s against chacha20-poly1305's 0.64-0.83 s, with less CPU on both sides). */
export const SSH_CIPHERS = 'aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr';

/** The sh functions `sums` and `sums_check` (SHA-256, OpenSSL's where installed) for scripts run on hosts. */
export const shellSums = () => body('sums.sh');

function assignments(vars: Record<string, string | number>): string {
  return Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`).join('\n');
}

/** The backup job of a database host; `gate` is the single-instance check as a sh function `ironclad_gate`. */
export function renderJob(args: { host: Host; store: Host; gate: string; inventoryFile: string }): string {
  const { host, store, gate } = args;
  const pg = host.postgres!;
  const b = host.backup!;
  return [
    '#!/bin/sh',
    `# ironclad backup job for ${host.name}, rendered by \`ironclad apply\` from ${args.inventoryFile}. Do not edit: change the inventory.`,
    '# shellcheck disable=SC2030,SC2031  # the gate runs its census in a subshell on purpose: its settings stay there',
    'set -eu',
    assignments({
      HOST: host.name,
      PGVERSION: pg.version,
      CLUSTER: pg.cluster,
      PORT: pg.port,
      DATABASES: b.databases.join(' '),
      STORE_ADDR: store.address,
      STORE_PORT: store.ssh.port,
      STORE_USER: store.backup_store!.user,
      KEY: PATHS.key,
      KNOWN: PATHS.knownHosts,
      CIPHERS: SSH_CIPHERS,
      MIN_TABLES: b.expect.min_tables,
      MAX_SHRINK: b.expect.max_shrink,
      FORMAT: b.format ?? 'custom',
      ALERT: b.alert?.command ?? '',
      WORK: PATHS.work,
      STATUS: PATHS.status,
      EVENTS_TABLE: b.events?.table ?? '',
      EVENTS_COLUMN: b.events?.time_column ?? '',
    }),
    'DONE_IDS=',
    '',
    gate.trim(),
    '',
    shellSums(),
    body('job.sh'),
  ].join('\n');
}

/** The store's forced command for its backup account. */
export function renderStore(store: Host): string {
  return ['#!/bin/sh', `# ironclad backup store on ${store.name}, rendered by \`ironclad apply\`. Do not edit.`, 'set -eu', `ROOT=${shq(store.backup_store!.path)}`, '', shellSums(), body('store.sh')].join('\n');
}

/** The cron file that runs the job at the inventory's schedule (hosts without systemd). */
export function renderCron(host: Host): string {
  const s = parseSchedule(host.backup!.schedule);
  if (!s.ok) throw new Error(s.error);
  return `# ironclad backup of ${host.name}: ${host.backup!.schedule} (OnCalendar), rendered by ironclad apply\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${s.cron} root ${PATHS.job} >/dev/null 2>&1\n`;
}

/** systemd service + timer units for hosts where systemd runs. */
export function renderTimer(host: Host): { service: string; timer: string } {
  return {
    service: `[Unit]\nDescription=ironclad backup of ${host.name}\n\n[Service]\nType=oneshot\nExecStart=${PATHS.job}\n`,
    timer: `[Unit]\nDescription=ironclad backup of ${host.name} (${host.backup!.schedule})\n\n[Timer]\nOnCalendar=${host.backup!.schedule}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n`,
  };
}

/** The line in the store account's authorized_keys: the database host's key may run the forced command only. */
export function authorizedKeyLine(dbHost: string, publicKey: string): string {
  return `restrict,command="${PATHS.store}" ${publicKey.trim().split(/\s+/).slice(0, 2).join(' ')} ironclad-backup-from-${dbHost}`;
}

/** The line for a refresh target's key: read-only rsync of the store, nothing else. */
export function readOnlyKeyLine(target: string, publicKey: string, root: string): string {
  return `restrict,command="rrsync -ro ${root}" ${publicKey.trim().split(/\s+/).slice(0, 2).join(' ')} ironclad-refresh-to-${target}`;
}

/** Retention cron on the store: one line per database host, with that host's retention. */
export function renderPruneCron(entries: { host: string; retention: { daily: number; weekly: number; monthly: number } }[]): string {
  const lines = entries.map((e) => `30 5 * * * root ${PATHS.store} prune ${e.host} ${e.retention.daily} ${e.retention.weekly} ${e.retention.monthly} >/dev/null 2>&1`);
  return `# ironclad backup retention, enforced on the store by ironclad (never by the database hosts)\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${lines.join('\n')}\n`;
}
