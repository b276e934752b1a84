// The typed values facts produce: what a host is, read-only, one shape per fact.
import type { ClockFact } from './clock.js';
import type { TlsFact } from './tls.js';
import type { IntegrityFact } from './integrity.js';
import type { ClusterCorruption } from './corruption.js';

/** The OS of a host: /etc/os-release, kernel, hostname, init. */
export interface OsFact {
  id: string | null;
  version_id: string | null;
  pretty_name: string | null;
  kernel: string | null;
  hostname: string | null;
  /** Name of pid 1 (`systemd`, `init`, ...), null when unreadable. */
  init: string | null;
  /** True when systemd manages the host (/run/systemd/system exists). */
  systemd: boolean;
}

/** One dpkg package matching postgresql*. */
export interface PackageFact {
  name: string;
  version: string | null;
  /** dpkg's status word: installed, config-files, not-installed, half-configured, ... */
  status: string;
  installed: boolean;
}

/** One cluster known to postgresql-common (pg_lsclusters). */
export interface ClusterFact {
  version: number;
  cluster: string;
  port: number | null;
  status: 'online' | 'down';
  /** What follows the status word: recovery, binaries_missing, a supervisor, a start.conf value. */
  flags: string[];
  owner: string | null;
  data_directory: string | null;
  log_file: string | null;
  /** Only known when pg_lsclusters speaks JSON. */
  config_directory: string | null;
  start: string | null;
}

/** postmaster.pid of a running postmaster, read through its working directory. */
export interface PidFile {
  data_directory: string | null;
  port: number | null;
  socket_directory: string | null;
  listen_addresses: string | null;
  start_time: number | null;
}

interface ProcessBase {
  pid: number;
  ppid: number;
  user: string;
  /** argv as the process shows it (for children: the process title). */
  args: string[];
  command: string;
  /** Working directory: a postmaster's data directory. Null when unreadable. */
  cwd: string | null;
}

/** A parent postgres process: one per running instance. */
export interface PostmasterProcess extends ProcessBase {
  role: 'postmaster';
  /** From -D / --pgdata / -c data_directory, else the working directory. */
  data_directory: string | null;
  /** From -p / --port / -c port, else postmaster.pid. */
  port: number | null;
  config_file: string | null;
  pidfile: PidFile | null;
}

/** A backend or auxiliary process of a postmaster. */
export interface ChildProcess extends ProcessBase {
  role: 'child';
  /** The part of the title after `postgres: ` (e.g. `15/main: checkpointer`). */
  title: string;
}

/** Every postgres process, postmasters flagged by role. */
export type PostgresProcess = PostmasterProcess | ChildProcess;

/** Who holds a listening socket (ss -p). */
export interface SocketOwner {
  name: string;
  pid: number;
  fd: number | null;
}

/** A listening TCP socket. */
export interface TcpListener {
  kind: 'tcp';
  address: string;
  port: number;
  processes: SocketOwner[];
}

/** A listening unix socket. */
export interface UnixListener {
  kind: 'unix';
  path: string;
  processes: SocketOwner[];
}

/** A listening socket, TCP or unix. */
export type Listener = TcpListener | UnixListener;

/** One mounted real filesystem (pseudo filesystems skipped). */
export interface DiskFact {
  filesystem: string;
  type: string;
  size: number;
  used: number;
  available: number;
  mount: string;
  /** used / (used + available), as df computes Capacity, 0..100. */
  used_percent: number;
}

/** A file in /etc/cron.d and its entry lines (comments and blank lines dropped). */
export interface CronFile {
  name: string;
  lines: string[];
  /** The dpkg package that ships the file; null for a file no package owns (written by hand or by ironclad). */
  package: string | null;
}

/** A systemd timer (systemctl list-timers). */
export interface TimerFact {
  unit: string;
  activates: string | null;
  next: string | null;
  last: string | null;
}

/** Scheduled work on a host. */
export interface JobsFact {
  cron_d: CronFile[];
  /** Entry lines of root's crontab; empty when there is none. */
  root_crontab: string[];
  /** Listed only when systemd runs. */
  timers: TimerFact[];
}

/** One pinned cluster identity, written by ironclad at provisioning. */
export interface PinnedIdentity {
  cluster: string;
  version: number;
  port: number;
  data_directory: string;
  /** A 64-bit number: kept as a string, exact. */
  system_identifier: string;
  pinned_at: string;
}

/** /var/lib/ironclad/identity.json: absent, readable, or present but unusable. */
export type IdentityFact =
  | { state: 'absent' }
  | { state: 'present'; identities: PinnedIdentity[] }
  | { state: 'invalid'; error: string };

/** /var/lib/ironclad/production: the marker `apply` leaves on production hosts. */
export type ProductionMarkerFact = { present: false } | { present: true; content: string };

/** A postgresql* package with the version apt would upgrade it to (from the host's local package lists). */
export interface PackageUpdate {
  name: string;
  installed: string | null;
  candidate: string | null;
  /** An installed package whose candidate differs: `apt-get upgrade` would change it. */
  pending: boolean;
}

/** What the backup job's last run wrote in its status file. */
export interface BackupJobStatus {
  state: 'ok' | 'failed' | 'refused';
  exit: number;
  message: string;
  time: string;
}

/** The backup job ironclad installed on a host: the host and databases it was rendered for, and its last run. */
export interface BackupJobFact {
  installed: boolean;
  host: string | null;
  databases: string[];
  status: BackupJobStatus | null;
}

/** Every fact by name. */
export interface FactValues {
  os: OsFact;
  postgres_packages: PackageFact[];
  clusters: ClusterFact[];
  postgres_processes: PostgresProcess[];
  listeners: Listener[];
  disk: DiskFact[];
  jobs: JobsFact;
  identity: IdentityFact;
  production_marker: ProductionMarkerFact;
  postgres_updates: PackageUpdate[];
  backup_job: BackupJobFact;
  integrity: IntegrityFact;
  corruption: ClusterCorruption[];
  tls: TlsFact;
  clock: ClockFact;
}

/** The name of a fact. */
export type FactName = keyof FactValues;

/** One named piece of a section's stdout, opened by `ic_part NAME` in a fact command. */
export interface Part {
  name: string;
  text: string;
}

/** What one fact command printed, split back out of the combined script's output. */
export interface Section {
  name: string;
  code: number;
  /** stdout before the first part marker (all of it when the command uses no parts). */
  stdout: string;
  parts: Part[];
  stderr: string;
}

/** A fact: a read-only command, a pure parser of its output, and the value when the tool is absent. */
export interface FactDef<T> {
  name: FactName;
  /** The program whose absence makes the command exit 127 (null: never absent). */
  tool: string | null;
  /** POSIX sh, run in a subshell with stdin from /dev/null; exits 127 when its tool is absent. */
  command: string;
  parse(section: Section): T;
  absent(): T;
}

/** Something that went wrong gathering one fact; the fact then holds its default. */
export type FactProblem =
  | { kind: 'exit'; fact: FactName; code: number; stderr: string }
  | { kind: 'parse'; fact: FactName; message: string }
  | { kind: 'missing'; fact: FactName };

/** The facts of one host, for the names asked. */
export interface HostFacts<N extends FactName = FactName> {
  host: string;
  facts: Pick<FactValues, N>;
  /** Facts whose tool is not installed (their value is the default). */
  absent: N[];
  problems: FactProblem[];
}

/** A fact that takes arguments (like pyinfra's `PostgresRoles(port=...)`): read-only sections built for the arguments
 *  and a pure parser of their outputs by section name. Gathered in the same round trip as the named facts. */
export interface ArgFact<A, T> {
  /** Prefix of its sections in the combined script ([a-z_]+). */
  name: string;
  sections(args: A): { name: string; command: string }[];
  parse(sections: Map<string, Section>): T;
}
