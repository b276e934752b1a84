// The audit's shapes: what was gathered from the estate, and the findings judged from it.
import type { BackupEntry } from '../backup/catalog.js';
import type { HostOutcome } from '../executor/fanout.js';
import type { HostFacts } from '../facts/types.js';
import type { ImageRecord } from '../images/record.js';
import type { HostCensus } from '../instances/types.js';
import type { Inventory } from '../inventory/types.js';
import type { HostPlan } from '../provision/plan.js';
import type { ClockOffset } from '../facts/clock-offset.js';
import type { TlsSource } from '../tls/source.js';

/** How a line of the audit reads: fine, worth a look, or wrong. */
export type Level = 'ok' | 'warning' | 'failure';

/** What a line is about. */
export type Area = 'reach' | 'drift' | 'instances' | 'backup' | 'trend' | 'drill' | 'job' | 'images' | 'disk' | 'postgres' | 'integrity' | 'unknown' | 'tls' | 'clock';

/** One line of the audit. */
export interface Finding {
  host: string;
  area: Area;
  /** What exactly: a database, a mount, a pair name, a file. */
  subject: string;
  level: Level;
  message: string;
  details: string[];
}

/** One backup in a database's history, oldest first in a series. */
export interface BackupPoint {
  id: string;
  time: string;
  bytes: number;
  rows: number;
  tables: number;
  verified: boolean;
  verified_at: string | null;
  /** Rows or bytes fell by more than DROP_LIMIT since the backup before. */
  drop: boolean;
}

/** The history of one database's backups, for the trend line and the chart. */
export interface BackupSeries {
  host: string;
  database: string;
  points: BackupPoint[];
}

/** Everything the audit read from the estate (the only part that touches hosts); judged by pure functions. */
export interface AuditInput {
  inventory: Inventory;
  now: Date;
  facts: HostOutcome<HostFacts>[];
  plans: HostOutcome<HostPlan>[];
  /** Set when the backup wiring could not be planned (a host involved was unreachable). */
  linksError: string | null;
  censuses: HostOutcome<HostCensus>[];
  /** Every store's catalog; a store that could not be read is a failed outcome. */
  catalogs: HostOutcome<BackupEntry[]>[];
  /** Per image pair (outcome host = the pair's name): the last comparison recorded on its replica. */
  images: HostOutcome<ImageRecord | null>[];
  /** The estate's CA as plan sees it (read, never made). */
  tls?: TlsSource;
  /** Per host: its clock's offset from this machine's, measured. */
  clocks?: HostOutcome<ClockOffset>[];
  /** Continuous archiving, judged already (src/pitr/audit.ts judgePitr, judgePitrDrill): window, lag, slot, drill per archiving host. */
  pitr?: Finding[];
}

/** The audit as `--json` prints it and the HTML page shows it. */
export interface AuditReport {
  generated_at: string;
  inventory: string;
  ok: boolean;
  counts: Record<Level, number>;
  /** `ok`: no failure on the host; `error`: why it could not be reached (only then). */
  hosts: { host: string; level: Level; ok: boolean; error?: string; findings: Finding[] }[];
  backups: BackupSeries[];
}
