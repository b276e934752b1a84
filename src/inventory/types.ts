// The inventory as the program sees it after validation (schemas/inventory.schema.json is the contract).
import type { SecretRef } from '../core/secrets.js';

export interface SshSettings {
  user: string;
  port: number;
  identity_file: string;
  known_hosts: string;
  connect_timeout?: number; // seconds
  command_timeout?: number; // seconds
}

export interface Role {
  name: string;
  login?: boolean;
  superuser?: boolean;
  createdb?: boolean;
  password?: SecretRef;
}

export interface Database {
  name: string;
  owner: string;
  encoding?: string;
}

export interface HbaRule {
  type: 'local' | 'host' | 'hostssl' | 'hostnossl';
  database: string;
  user: string;
  address?: string;
  method: string;
}

/** TLS of a host's cluster (`postgres.tls`): on by default, with a certificate from the estate's CA. */
export interface HostTls {
  enabled: boolean;
  /** More DNS names for the certificate, beside the host's name, address and listen addresses. */
  names: string[];
}

/** The estate's CA and the lifetime of host certificates (top-level `tls`). */
export interface EstateTls {
  /** `managed`: ironclad makes the CA once in `dir` (default `.ironclad/ca` beside the inventory); `provided`: the inventory's. */
  ca: { kind: 'managed'; dir: string } | { kind: 'provided'; cert: string; key: string };
  days: number;
  renew_before_days: number;
}

export interface PostgresSpec {
  version: number;
  cluster: string;
  port: number;
  listen?: string[];
  settings?: Record<string, string | number | boolean>;
  roles?: Role[];
  databases?: Database[];
  hba?: HbaRule[];
  /** The scheduled pg_amcheck (default: on for production hosts, weekly). */
  amcheck?: { enabled?: boolean; schedule?: string; heapallindexed?: boolean };
  /** More clusters that may legitimately run on this host (single-instance check). */
  extra_clusters?: { cluster: string; port: number; version?: number }[];
  /** Set by the loader (enabled unless the inventory says otherwise). */
  tls?: HostTls;
}

export interface BackupSpec {
  to: string;
  databases: string[];
  schedule: string;
  retention: { daily: number; weekly: number; monthly: number };
  expect: { min_tables: number; max_shrink: number };
  alert?: { command: string };
  format?: 'custom' | 'directory';
  /** pg_dump's zlib level (0-9; the job's default is 1: the dump's CPU, not its size, is what a backup waits for). */
  compression?: number;
  events?: { table: string; time_column: string };
  /** The host that runs this database's restore drills (it holds the decryption identity; never the store). */
  drill?: { host: string };
  /** More age recipients (an offline break-glass key) beside the hosts that restore. */
  recipients?: string[];
}

export interface BackupStore {
  path: string;
  user: string;
  /** Free space kept on the store: '10%' or '20G' (default 5%). */
  min_free?: string;
  health?: { grace?: string; alert?: { command: string }; schedule?: string; textfile?: string };
}

/** Continuous archiving of a database host that backs up (on unless `enabled: false`); src/pitr/render.ts pitrOf(). */
export interface PitrSpec {
  enabled?: boolean;
  /** What the slot may keep on the database host while the store is away ('10GB' by default). */
  max_slot_wal_keep_size?: string;
  /** When the store takes base backups (OnCalendar; default the host's backup.schedule). */
  base_schedule?: string;
  /** Base backups kept: the newest `bases` (default 2) and every one younger than `days` (default 7). */
  retention?: { bases?: number; days?: number };
  /** How long the store may receive no WAL before its health check alerts (default 10m). */
  stall?: string;
}

export interface Host {
  name: string;
  address: string;
  tags: string[];
  ssh: SshSettings;
  postgres?: PostgresSpec;
  backup?: BackupSpec;
  backup_store?: BackupStore;
  pitr?: PitrSpec;
}

export interface ImagePair {
  name: string;
  source: { host: string; path: string };
  replica: { host: string; path: string };
  /** The routine check (`images check NAME`, on its schedule): every file verified within `days` (default 30). */
  check?: { schedule: string; days?: number; runs_per_day?: number; budget?: string; quarantine_days?: number; alert?: { command: string } };
}

export interface RefreshSpec {
  from: { host: string; database: string };
  to: { host: string; database: string };
  scrub: string;
  promote?: { accounts: string[]; sql: string };
  events?: { table: string; time_column: string; columns: string[]; limit: number; warn_older_than?: string };
  jobs?: number;
}

export interface LabSpec {
  bridge: string;
  subnet: string;
  state_dir: string;
  /** The kind of lab host (default namespace). */
  flavor?: 'namespace' | 'systemd';
}

/** A loaded, validated inventory with defaults merged into every host. */
export interface Inventory {
  file: string;
  dir: string;
  hosts: Host[];
  images: ImagePair[];
  refresh: Record<string, RefreshSpec>;
  lab?: LabSpec;
  /** Set by the loader (default: a CA ironclad makes in .ironclad/ca beside the inventory, 365 days, renewed 30 before). */
  tls?: EstateTls;
}

/** Find a host by name, or undefined. */
export function findHost(inv: Inventory, name: string): Host | undefined {
  return inv.hosts.find((h) => h.name === name);
}
