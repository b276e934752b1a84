// Continuous archiving rendered from the inventory: the store's script (POSIX sh), its cron file and sudo rule, the
// database host's settings, pg_hba line and heartbeat job. Pure: text from the inventory's hosts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_PATHS, STATE_DIR } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shqAlways } from '../core/quote.js';
import { parseDuration, parseSchedule } from '../inventory/schedule.js';
import type { Host } from '../inventory/types.js';
export type { PitrSpec } from '../inventory/types.js';

/** Where continuous archiving keeps things on the hosts. */
export const PITR_PATHS = {
  script: `${HOST_PATHS.sbin}/ironclad-pitr`,
  conf: `${STATE_DIR}/pitr`,
  spool: '/run/ironclad-pitr',
  cron: '/etc/cron.d/ironclad-pitr',
  unit: '/etc/systemd/system/ironclad-pitr-receive@.service',
  sudoers: '/etc/sudoers.d/ironclad-pitr',
  heartbeatCron: '/etc/cron.d/ironclad-heartbeat',
} as const;

/** The user every database host's receiver ran as on a store set up before each host had its own: a spool of its is
 *  handed to the host's own user by the receiver that starts next. */
export const PITR_USER = 'ironclad-pitr';

/** Pure: the store's system user that runs pg_receivewal, pg_basebackup and every tool that parses what database host
 *  `host` sent (never root: a bug in a parser gives a hostile host this user, not the store), owner of its spool. One
 *  per host: a host that broke its receiver reads no other host's WAL. `ironclad-pitr-HOST` when that is a name
 *  useradd takes (32 characters, lower case), else `ironclad-pitr_` and 12 hex digits of the name's SHA-256 (a host
 *  name never holds `_`: the two forms never meet). */
export function pitrUser(host: string): string {
  const name = `${PITR_USER}-${host}`;
  return /^[a-z0-9][a-z0-9-]*$/.test(host) && name.length <= 32 ? name : `${PITR_USER}_${createHash('sha256').update(host).digest('hex').slice(0, 12)}`;
}

/** sh that makes user `u` when it is missing (no shell, no home, a group of its own) and takes a login shell away. */
export function pitrUserScript(u: string): string {
  return [
    `if ! id -u ${u} >/dev/null 2>&1; then`,
    `  if getent group ${u} >/dev/null; then g='-g ${u}'; else g='--user-group'; fi`,
    `  useradd --system $g --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${u}`,
    `else usermod --shell /usr/sbin/nologin ${u}; fi`,
  ].join('\n');
}

/** The replication role, its slot, and the file of the settings archiving needs (beside conf.d/ironclad.conf). */
export const PITR_ROLE = 'ironclad_wal';
export const PITR_SLOT = 'ironclad_pitr';
export const PITR_CONF_FILE = 'ironclad-pitr.conf';

/** A host's archiving with every default filled in. */
export interface Pitr {
  maxSlotWalKeepSize: string;
  baseSchedule: string;
  retention: { bases: number; days: number };
  stallSeconds: number;
}

/** Continuous archiving of a host: on by default for every database host that backs up to a store; null when off. */
export function pitrOf(host: Host): Pitr | null {
  const spec = host.pitr ?? {};
  if (!host.backup || !host.postgres || spec.enabled === false) return null;
  return {
    // (postgres.settings is read after conf.d/ironclad-pitr.conf, so a value there wins: the audit judges by it too)
    maxSlotWalKeepSize: String(host.postgres.settings?.max_slot_wal_keep_size ?? spec.max_slot_wal_keep_size ?? '10GB'),
    baseSchedule: spec.base_schedule ?? host.backup.schedule,
    retention: { bases: spec.retention?.bases ?? 2, days: spec.retention?.days ?? 7 },
    stallSeconds: parseDuration(spec.stall ?? '10m') ?? 600,
  };
}

/** The database hosts that archive to a store. */
export function archivingClients(store: Host, hosts: Host[]): Host[] {
  return hosts.filter((h) => h.backup?.to === store.name && pitrOf(h));
}

const assign = (vars: Record<string, string | number>) => Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`).join('\n');

/** The store's archiving script, with the hosts that archive there. */
export function renderPitrStore(store: Host, clients: Host[], over: { spool?: string; conf?: string; tmpfsSize?: string; poll?: number; lockWait?: number } = {}): string {
  const bs = store.backup_store!;
  const version = Math.max(15, ...clients.map((c) => c.postgres!.version));
  const hosts = clients.map((c) => [c.name, c.address, c.postgres!.port, `${c.postgres!.version}/${c.postgres!.cluster}`, pitrOf(c)!.stallSeconds, pitrUser(c.name)].join(' '));
  return [
    '#!/bin/sh',
    `# ironclad continuous archiving on ${store.name}, rendered by \`ironclad apply\`. Do not edit.`,
    '# shellcheck disable=SC2015  # `A && B || C`: C when either fails, as meant',
    'set -u',
    assign({ ROOT: bs.path, MIN_FREE: bs.min_free ?? '5%', HOSTS: hosts.join('\n'), SPOOL: over.spool ?? PITR_PATHS.spool, CONF: over.conf ?? PITR_PATHS.conf, PGBIN: `/usr/lib/postgresql/${version}/bin`, TMPFS_SIZE: over.tmpfsSize ?? '256m', POLL: over.poll ?? 5, ALERT: bs.health?.alert?.command ?? '', SHARED_USER: PITR_USER, LOCK_WAIT: over.lockWait ?? 30 }),
    '',
    readFileSync(join(packageRoot(), 'src', 'pitr', 'window.sh'), 'utf8'),
    ...['store.sh', 'store-receive.sh', 'store-verbs.sh'].map((f) => readFileSync(join(packageRoot(), 'src', 'pitr', f), 'utf8')),
  ].join('\n');
}

const CRON_HEAD = 'SHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n';

/** The store's cron file: each receiver started when it is not running (no systemd), base backups on their schedule
 *  with retention right after, the health check every 5 minutes. */
export function renderPitrCron(clients: Host[], systemd: boolean): string {
  const lines = clients.flatMap((c) => {
    const p = pitrOf(c)!;
    const s = parseSchedule(p.baseSchedule);
    if (!s.ok) throw new Error(`${c.name}: pitr.base_schedule: ${s.error}`);
    return [
      ...(systemd ? [] : [`* * * * * root ${PITR_PATHS.script} receive ${c.name} --keepalive >/dev/null 2>>/var/log/ironclad-pitr.log`]),
      `${s.cron} root ${PITR_PATHS.script} base ${c.name} >/dev/null 2>>/var/log/ironclad-pitr.log && ${PITR_PATHS.script} prune ${c.name} ${p.retention.bases} ${p.retention.days} >/dev/null 2>&1`,
    ];
  });
  return `# ironclad continuous archiving: receivers, base backups and retention, the window's health. Rendered by ironclad apply.\n${CRON_HEAD}${lines.join('\n')}\n*/5 * * * * root ${PITR_PATHS.script} health >/dev/null 2>&1\n`;
}

/** The receiver as a systemd unit (one instance per database host), restarted when it stops. */
export function renderPitrUnit(): string {
  return `[Unit]\nDescription=ironclad WAL receiver for %i\nAfter=network-online.target\n\n[Service]\nExecStart=${PITR_PATHS.script} receive %i\nRestart=always\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\n`;
}

/** sudo lets the store's read account have root encrypt a segment still being received, nothing else. */
export function renderPitrSudoers(store: Host): string {
  return `# ironclad: a restoring host's read key may have root encrypt the WAL segment being received. Rendered by ironclad apply.\n${store.backup_store!.user} ALL=(root) NOPASSWD: ${PITR_PATHS.script} partial *\n`;
}

/** The settings archiving needs on the database host (a file of its own in conf.d; sighup: a reload applies it). */
export function renderPitrConf(host: Host): string {
  return [
    "# Managed by ironclad (continuous archiving): change the host's pitr: block of the inventory instead.",
    `max_slot_wal_keep_size = '${pitrOf(host)!.maxSlotWalKeepSize.replace(/'/g, "''")}'`,
    '# a connection whose data goes unacknowledged for 30 s is dead: a walsender to a store that vanished must not hold',
    '# the slot (a checkpoint waits for it to let go before it may drop WAL past max_slot_wal_keep_size: pg_wal would grow)',
    'tcp_user_timeout = 30000',
    'tcp_keepalives_idle = 30',
    'tcp_keepalives_interval = 10',
    'tcp_keepalives_count = 3',
    '',
  ].join('\n');
}

/** The pg_hba block that lets the store (and nothing else) open a replication connection as the archiving role. */
export function renderPitrHba(store: Host): string {
  return `# BEGIN ironclad pitr\nhost\treplication\t${PITR_ROLE}\t${store.address}/32\tscram-sha-256\n# END ironclad pitr\n`;
}

/** The heartbeat: a row every 30 s in ironclad.heartbeat of the postgres database (the drill's proof of a recent point). */
export function renderHeartbeatCron(host: Host): string {
  const sql = `INSERT INTO ironclad.heartbeat(at) VALUES (now()); DELETE FROM ironclad.heartbeat WHERE at < now() - interval '8 days';`;
  const psql = `cd / && psql -X -q -p ${host.postgres!.port} -d postgres -c "${sql}" >/dev/null 2>&1`;
  return `# ironclad heartbeat of ${host.name}: a row every 30 s, for restore drills to check the newest point. Rendered by ironclad apply.\n${CRON_HEAD}* * * * * postgres ${psql}; sleep 30; ${psql}\n`;
}
