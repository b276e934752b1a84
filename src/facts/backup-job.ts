// The `backup_job` fact: the backup job ironclad installed on a host (what it backs up) and its last run's status.
import { BACKUP_PATHS as PATHS } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import { parseAssignments, partText } from './text.js';
import type { BackupJobFact, BackupJobStatus, FactDef } from './types.js';

const STATES = ['ok', 'failed', 'refused'] as const;

/** The status file the job writes after every run; null when absent or unusable. */
export function parseJobStatus(text: string | undefined): BackupJobStatus | null {
  if (text === undefined) return null;
  try {
    const s = JSON.parse(text);
    if (!STATES.includes(s.state) || typeof s.time !== 'string') return null;
    return { state: s.state, exit: Number(s.exit), message: String(s.message ?? ''), time: s.time };
  } catch {
    return null;
  }
}

/** Parse the job's rendered variables (part `job`) and its status file (part `status`). */
export function parseBackupJob(job: string | undefined, status: string | undefined): BackupJobFact {
  if (job === undefined) return { installed: false, host: null, databases: [], status: parseJobStatus(status) };
  const vars = parseAssignments(job);
  return { installed: true, host: vars.HOST ?? null, databases: (vars.DATABASES ?? '').split(/\s+/).filter(Boolean), status: parseJobStatus(status) };
}

/** Reads the job's own settings lines, never the whole script. */
export const backupJobFact: FactDef<BackupJobFact> = {
  name: 'backup_job',
  tool: null,
  command: `
if [ -f ${shq(PATHS.job)} ]; then ic_part job; grep -E '^(HOST|DATABASES)=' ${shq(PATHS.job)}; fi
if [ -f ${shq(PATHS.status)} ]; then ic_part status; cat ${shq(PATHS.status)}; fi
true`,
  parse: (section) => parseBackupJob(partText(section, 'job'), partText(section, 'status')),
  absent: () => ({ installed: false, host: null, databases: [], status: null }),
};
