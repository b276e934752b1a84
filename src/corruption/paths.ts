// Where the corruption checks keep their files on a database host: the amcheck job, its schedule, its last result.
import { HOST_PATHS } from '../core/host-paths.js';

const dir = HOST_PATHS.integrity;

/** Files of the scheduled amcheck job (root's; the database host needs no Node.js). */
export const INTEGRITY_PATHS = {
  dir,
  job: `${HOST_PATHS.sbin}/ironclad-amcheck`,
  cron: '/etc/cron.d/ironclad-amcheck',
  service: '/etc/systemd/system/ironclad-amcheck.service',
  timer: '/etc/systemd/system/ironclad-amcheck.timer',
  /** key=value lines the job writes (atomically) after each run. */
  status: `${dir}/amcheck.status`,
  /** pg_amcheck's own report of the last run (cut at 256 KiB). */
  report: `${dir}/amcheck.out`,
  /** Written by the corruption runbook once a repair is done: log errors and failures before this time are history. */
  cleared: `${dir}/cleared`,
} as const;
