// Where ironclad keeps its files on the hosts it manages, in one table: the modules that write, read or name them import
// these. The POSIX sh scripts sent to hosts spell their defaults themselves (they run without Node.js); a test holds
// census.sh's to this table.

/** Root's state folder on every managed host. */
export const STATE_DIR = '/var/lib/ironclad';

/** ironclad's host-side files and folders (backup and TLS files have their own tables built on these). */
export const HOST_PATHS = {
  stateDir: STATE_DIR,
  /** The pinned cluster identities (written by apply, read by the census and destructive steps). */
  identity: `${STATE_DIR}/identity.json`,
  /** Present on production hosts only: refresh and restore refuse to write over a host that has it. */
  productionMarker: `${STATE_DIR}/production`,
  /** Pins of clusters made by `pitr restore`, CLUSTER.json each. */
  restored: `${STATE_DIR}/restored`,
  /** The amcheck job's results. */
  integrity: `${STATE_DIR}/integrity`,
  /** Restore drills' scratch folders, one per backup id. */
  drill: `${STATE_DIR}/drill`,
  /** Image pairs: the last comparison's record of each pair and the check jobs' logs (on the replica's host). */
  images: `${STATE_DIR}/images`,
  /** root's hash cache of image trees (scan.sh's default for root; the check job's cache). */
  imagesCache: `${STATE_DIR}/images/cache`,
  /** The routine image check's keys on the replica's host (0700). */
  imagesKeys: `${STATE_DIR}/images/keys`,
  /** root's progress files of `images repair` (repair.sh's default for root, 0700). */
  imagesRun: `${STATE_DIR}/images/run`,
  /** restore-production's SQL of what it left out (publications a plain role may not make, event triggers,
   *  subscriptions), one folder per run, root's only: the operator reads it, then runs it after the swap. */
  leftOut: `${STATE_DIR}/left-out`,
  /** The TLS certificate and key of a database host. */
  tls: '/etc/ironclad/tls',
  /** ironclad's programs on a host (the backup job, the store's command, the amcheck job). */
  sbin: '/usr/local/sbin',
} as const;

/** Where the backup (job, store, keys, identities, refresh copies) keeps its files on the hosts. */
export const BACKUP_PATHS = {
  job: `${HOST_PATHS.sbin}/ironclad-backup`,
  store: `${HOST_PATHS.sbin}/ironclad-store`,
  cron: '/etc/cron.d/ironclad-backup',
  service: '/etc/systemd/system/ironclad-backup.service',
  timer: '/etc/systemd/system/ironclad-backup.timer',
  pruneCron: '/etc/cron.d/ironclad-retention',
  healthCron: '/etc/cron.d/ironclad-store-health',
  sudoers: '/etc/sudoers.d/ironclad-store',
  recipients: `${STATE_DIR}/backup-recipients`,
  identity: `${STATE_DIR}/age-identity`,
  key: `${STATE_DIR}/backup_ed25519`,
  refreshKey: `${STATE_DIR}/refresh_ed25519`,
  refreshDir: `${STATE_DIR}/refresh`,
  knownHosts: `${STATE_DIR}/known_hosts`,
  work: `${STATE_DIR}/backup-work`,
  status: `${STATE_DIR}/backup-status.json`,
} as const;

/** Files of the scheduled amcheck job on a database host (root's; the host needs no Node.js). */
export const INTEGRITY_PATHS = {
  dir: HOST_PATHS.integrity,
  job: `${HOST_PATHS.sbin}/ironclad-amcheck`,
  cron: '/etc/cron.d/ironclad-amcheck',
  service: '/etc/systemd/system/ironclad-amcheck.service',
  timer: '/etc/systemd/system/ironclad-amcheck.timer',
  /** key=value lines the job writes (atomically) after each run. */
  status: `${HOST_PATHS.integrity}/amcheck.status`,
  /** pg_amcheck's own report of the last run (cut at 256 KiB). */
  report: `${HOST_PATHS.integrity}/amcheck.out`,
  /** Written by the corruption runbook once a repair is done: log errors and failures before this time are history. */
  cleared: `${HOST_PATHS.integrity}/cleared`,
} as const;

/** A database host's TLS files (folder root's, 0755; the key inside postgres's, 0600): the server's certificate and
 *  key, and the estate's CA certificate (for local clients). */
export const TLS_FILES = {
  cert: `${HOST_PATHS.tls}/server.crt`,
  key: `${HOST_PATHS.tls}/server.key`,
  ca: `${HOST_PATHS.tls}/ca.crt`,
} as const;
