// The backup job and the store's forced command, rendered from the inventory: POSIX sh, no Node.js on servers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKUP_PATHS } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shq, shqAlways } from '../core/quote.js';
import { lastRuns, parseDuration, parseSchedule } from '../inventory/schedule.js';
import type { Host } from '../inventory/types.js';

/** Where things live on the hosts (the table is core/host-paths.ts BACKUP_PATHS). */
export const PATHS = BACKUP_PATHS;

const body = (name: string) => readFileSync(join(packageRoot(), 'src', 'backup', name), 'utf8');

/** pg_dump's zlib level when the inventory names none: 1, not pg_dump's 6 (on the bench's 1 GB: pg_dump 1.6 CPU-s
 *  instead of 2.65, the file 1.6% larger; at 6 the dump's slowest process is pg_dump itself). */
export const DEFAULT_COMPRESSION = 1;

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
      RECIPIENTS: PATHS.recipients,
      CIPHERS: SSH_CIPHERS,
      MIN_TABLES: b.expect.min_tables,
      MAX_SHRINK: b.expect.max_shrink,
      FORMAT: b.format ?? 'custom',
      COMPRESSION: b.compression ?? DEFAULT_COMPRESSION,
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
    body('corrupt.sh'),
    body('job-store.sh'),
    // the job itself, in pieces of one file each (sourced here in this order: each defines what the next uses)
    body('job-base.sh'),
    body('job-session.sh'),
    body('job-dump.sh').replace('@@COUNT_SQL@@', body('counts.sql').trim()),
    body('job.sh'),
  ].join('\n');
}

/** Seconds a database's newest backup may be old before the store's health check says it is late: the longest gap
 *  between two runs of its schedule, plus the grace (default 2h). */
export function maxBackupAge(schedule: string, grace = '2h'): number {
  const s = parseSchedule(schedule);
  if (!s.ok) throw new Error(s.error);
  const runs = lastRuns(s.cron, new Date(Date.UTC(2030, 0, 1)), 40).map((d) => d.getTime() / 1000);
  const gap = Math.max(86400, ...runs.slice(1).map((r, i) => runs[i] - r));
  return gap + (parseDuration(grace) ?? 7200);
}

/** The store's script (forced commands of the keys, and root's verbs), with the databases that back up there. */
export function renderStore(store: Host, clients: Host[]): string {
  const bs = store.backup_store!;
  const health = clients.flatMap((c) => c.backup!.databases.map((db) => `${c.name} ${db} ${maxBackupAge(c.backup!.schedule, bs.health?.grace)}`));
  return [
    '#!/bin/sh',
    `# ironclad backup store on ${store.name}, rendered by \`ironclad apply\`. Do not edit.`,
    '# shellcheck disable=SC2015  # `A && B || die`: die when either fails, as meant',
    'set -eu',
    assignments({ ROOT: bs.path, UPLOADER: bs.user, MIN_FREE: bs.min_free ?? '5%', HEALTH: health.join('\n'), ALERT: bs.health?.alert?.command ?? '', TEXTFILE: bs.health?.textfile ?? '' }),
    '',
    shellSums(),
    body('store-admin.sh'),
    body('store.sh'),
  ].join('\n');
}

/** sudo lets the upload account run one thing as root: the store's commit (which checks everything itself). */
export function renderSudoers(store: Host): string {
  return `# ironclad: the backup account may ask root to commit an upload, nothing else. Rendered by ironclad apply.\n${store.backup_store!.user} ALL=(root) NOPASSWD: ${PATHS.store} commit *\n`;
}

/** The store's own watch: every 15 minutes (or the inventory's schedule), as root. */
export function renderHealthCron(store: Host): string {
  const when = store.backup_store!.health?.schedule;
  const s = when ? parseSchedule(when) : undefined;
  if (s && !s.ok) throw new Error(s.error);
  return `# ironclad: is every database's newest backup on time? (the store's clock and catalog; alerts when not)\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${s?.ok ? s.cron : '*/15 * * * *'} root ${PATHS.store} health >/dev/null 2>&1\n`;
}

/** The age recipients a database host encrypts to: the hosts that restore its backups, and the inventory's own. */
export function renderRecipients(keys: { name: string; key: string }[], extra: string[]): string {
  return [...keys.map((k) => `# ${k.name}\n${k.key}`), ...extra.map((k) => `# from the inventory\n${k}`)].join('\n') + '\n';
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

const keyOnly = (publicKey: string) => publicKey.trim().split(/\s+/).slice(0, 2).join(' ');

/** The line in the store account's authorized_keys: the database host's key runs the forced command for its own host. */
export function authorizedKeyLine(dbHost: string, publicKey: string): string {
  return `restrict,command="${PATHS.store} client ${dbHost}" ${keyOnly(publicKey)} ironclad-backup-from-${dbHost}`;
}

/** The line for a restoring host's read key: it reads the committed backups of `sources` only, nothing else. */
export function readOnlyKeyLine(reader: string, publicKey: string, sources: string[]): string {
  return `restrict,command="${PATHS.store} reader ${sources.join(',')}" ${keyOnly(publicKey)} ironclad-read-by-${reader}`;
}

/** Retention cron on the store: one line per database host, with that host's retention. */
export function renderPruneCron(entries: { host: string; retention: { daily: number; weekly?: number; monthly?: number } }[]): string {
  const lines = entries.map((e) => `30 5 * * * root ${PATHS.store} prune ${e.host} ${e.retention.daily} ${e.retention.weekly ?? 0} ${e.retention.monthly ?? 0} >/dev/null 2>&1`);
  return `# ironclad backup retention, enforced on the store by ironclad (never by the database hosts)\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${lines.join('\n')}\n`;
}
