// Where the corruption checks keep their files on a database host: the amcheck job, its schedule, its last result.

/** Files of the scheduled amcheck job (root's; the database host needs no Node.js). */
export const INTEGRITY_PATHS = {
  dir: '/var/lib/ironclad/integrity',
  job: '/usr/local/sbin/ironclad-amcheck',
  cron: '/etc/cron.d/ironclad-amcheck',
  service: '/etc/systemd/system/ironclad-amcheck.service',
  timer: '/etc/systemd/system/ironclad-amcheck.timer',
  /** key=value lines the job writes (atomically) after each run. */
  status: '/var/lib/ironclad/integrity/amcheck.status',
  /** pg_amcheck's own report of the last run (cut at 256 KiB). */
  report: '/var/lib/ironclad/integrity/amcheck.out',
  /** Written by the corruption runbook once a repair is done: log errors and failures before this time are history. */
  cleared: '/var/lib/ironclad/integrity/cleared',
} as const;
