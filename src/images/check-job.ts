// The routine image check as a job on the replica's host (pure): its files, the POSIX sh script apply installs (the
// check without Node.js: scan.sh on both sides, the merge and the coverage in awk), its cron entry or systemd timer, and
// the changes that bring a host to the jobs the inventory asks for, or remove the ones it no longer asks for.
import { HOST_PATHS } from '../core/host-paths.js';
import { shq, shqAlways } from '../core/quote.js';
import type { Host, ImagePair } from '../inventory/types.js';
import { fileChange } from '../operations/diff.js';
import type { Change } from '../operations/types.js';
import { checkSpec } from './check-spec.js';
import { coveragePath } from './check.js';
import { CHECK_UNIT as UNIT, checkUnit, type ImageCheckJob } from './check-plan.js';
import { recordPath } from './record.js';
import { sourceCallFunction } from './check-key.js';
import { hostScript, type SshTarget } from './repair-script.js';
import { scanScript } from './script.js';

/** Where the job keeps the replica tree's hash cache (root's; made 0700 by scan.sh). */
export const CHECK_CACHE_DIR = HOST_PATHS.imagesCache;

/** A job's files on its host; the unit name is the pair's with '.' as '_' (cron ignores files named with a dot). */
export function checkJobPaths(unit: string) {
  return {
    job: `${HOST_PATHS.sbin}/${unit}`,
    cron: `/etc/cron.d/${unit}`,
    service: `/etc/systemd/system/${unit}.service`,
    timer: `/etc/systemd/system/${unit}.timer`,
    log: `${HOST_PATHS.images}/${unit.slice(UNIT.length)}.check.log`,
  };
}

/** The unit names of jobs found on a host, from the paths of its files (anything else ignored). */
export function unitsOf(paths: string[]): string[] {
  const names = paths.flatMap((p) => /^\/(?:usr\/local\/sbin|etc\/cron\.d|etc\/systemd\/system)\/(ironclad-images-check-[a-z0-9_-]+?)(?:\.service|\.timer)?$/.exec(p)?.[1] ?? []);
  return [...new Set(names)].sort();
}

/** The job script: the pair's settings and the scripts it runs, rendered (each value quoted by shq), then the body. */
export function renderCheckJob(pair: ImagePair, source: SshTarget | null): string {
  const spec = checkSpec(pair.check, {});
  const unit = checkUnit(pair.name);
  const vars: Record<string, string | number> = {
    PAIR: pair.name,
    SOURCE: `${pair.source.host}:${pair.source.path}`,
    REPLICA_ROOT: pair.replica.path,
    DAYS: spec.days,
    RUNS_PER_DAY: spec.runsPerDay,
    BUDGET: spec.budgetBytes ?? 0,
    RECORD: recordPath(pair.name),
    COVERAGE: coveragePath(pair.name),
    ALERT: pair.check?.alert?.command ?? '',
    QUARANTINE_DAYS: pair.check?.quarantine_days ?? 30,
    CACHE_DIR: CHECK_CACHE_DIR, // the replica's hash cache: root's own, whatever HOME cron or systemd give the job
    SCAN: scanScript(),
    ...(source ? {} : { UNIT: unit, SOURCE_ROOT: pair.source.path, SOURCE_SIDE: hostScript('check-source.sh') }),
    MERGE_AWK: hostScript('check-merge.awk'),
    COVERAGE_AWK: hostScript('check-coverage.awk'),
    REPAIR: hostScript('repair.sh'), // its prune: the replica's quarantine by age, as images check does
  };
  return [
    '#!/bin/sh',
    "# shellcheck disable=SC2016,SC1003 # the scripts below are values in single quotes, expanded where they run",
    `# ironclad routine image check of ${pair.name}, rendered by \`ironclad apply\`. Do not edit: change the inventory.`,
    ...Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`),
    `# How the source's tree is reached: ${source ? "over SSH with this pair's own key, whose only command there is its scanner; the source's host key pinned" : 'it is on this host'}.`,
    sourceCallFunction(unit, source),
    hostScript('check-job.sh'),
  ].join('\n');
}

/** The cron file (hosts without systemd): the job's output kept in its log. */
export function renderCheckCron(job: ImageCheckJob): string {
  const p = checkJobPaths(job.unit);
  return `# ironclad routine image check of ${job.pair}: ${job.onCalendar} (OnCalendar), rendered by ironclad apply\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${job.cron} root ${p.job} >${shq(p.log)} 2>&1\n`;
}

/** The systemd service and timer (hosts where systemd runs). */
export function renderCheckUnits(job: ImageCheckJob): { service: string; timer: string } {
  const p = checkJobPaths(job.unit);
  return {
    service: `[Unit]\nDescription=ironclad routine image check of ${job.pair}\n\n[Service]\nType=oneshot\nNice=19\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\nExecStart=${p.job}\n`,
    timer: `[Unit]\nDescription=ironclad routine image check of ${job.pair} (${job.onCalendar})\n\n[Timer]\nOnCalendar=${job.onCalendar}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n`,
  };
}

/** What a host has of the jobs: each file's content by path (absent: not there), and whether systemd runs. */
export interface CheckJobFiles {
  files: Map<string, string>;
  systemd: boolean;
}

/** The removal of a job the inventory no longer asks for (its last record and coverage stay, for the audit). */
function removal(unit: string, have: CheckJobFiles): Change | undefined {
  const p = checkJobPaths(unit);
  const present = [p.job, p.cron, p.service, p.timer].filter((f) => have.files.has(f));
  if (!present.length) return undefined;
  const stop = have.files.has(p.timer) ? `systemctl disable --now ${shq(`${unit}.timer`)} 2>/dev/null; ` : '';
  return { operation: 'images', description: `remove the routine image check the inventory no longer asks for (${present.join(', ')})`, commands: [{ kind: 'sh', script: `${stop}rm -f ${present.map(shq).join(' ')}` }] };
}

/** Install, update or remove a host's image check jobs: `jobs` those it should run, `pairs` the inventory's pairs. */
export function checkJobSteps(args: { jobs: ImageCheckJob[]; pairs: ImagePair[]; hosts: Host[]; have: CheckJobFiles }): Change[] {
  const { jobs, pairs, have } = args;
  const out: (Change | undefined)[] = [];
  for (const job of jobs) {
    const pair = pairs.find((x) => x.name === job.pair)!;
    const src = args.hosts.find((h) => h.name === pair.source.host);
    const target = !src || src.name === pair.replica.host ? null : { user: src.ssh.user, address: src.address, port: src.ssh.port };
    const p = checkJobPaths(job.unit);
    const get = (f: string) => have.files.get(f) ?? null;
    const script = fileChange('images', p.job, get(p.job), renderCheckJob(pair, target), '755', `the routine image check of ${job.pair}`);
    // the directory of its record, coverage and log (cron writes the log before the job runs)
    out.push(script && { ...script, commands: [{ kind: 'sh', script: `mkdir -p ${shq(p.log.slice(0, p.log.lastIndexOf('/')))}` }, ...script.commands] });
    if (!have.systemd) out.push(fileChange('images', p.cron, get(p.cron), renderCheckCron(job), '644', `its schedule ${job.onCalendar} (cron)`));
    else {
      const units = renderCheckUnits(job);
      const changed = [fileChange('images', p.service, get(p.service), units.service, '644', 'its service unit'), fileChange('images', p.timer, get(p.timer), units.timer, '644', `its timer ${job.onCalendar}`)];
      out.push(...changed);
      if (changed.some(Boolean)) out.push({ operation: 'images', description: `enable the timer of the routine image check of ${job.pair}`, commands: [{ kind: 'sh', script: `systemctl daemon-reload && systemctl enable --now ${shq(`${job.unit}.timer`)}` }] });
    }
  }
  const wanted = new Set(jobs.map((j) => j.unit));
  for (const unit of unitsOf([...have.files.keys()]).filter((u) => !wanted.has(u))) out.push(removal(unit, have));
  return out.filter((c): c is Change => c !== undefined);
}
