// The scheduled amcheck job of a database host: its settings from the inventory (a default for production hosts), the
// POSIX sh script apply installs, its cron entry or systemd timer, and the changes that bring a host to it (pure).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_PATHS } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shqAlways } from '../core/quote.js';
import type { IntegrityFact } from '../facts/integrity.js';
import { parseSchedule } from '../inventory/schedule.js';
import type { Host } from '../inventory/types.js';
import { lineDiff } from '../operations/diff.js';
import type { Change, PlanStep } from '../operations/types.js';
import { INTEGRITY_PATHS as P } from './paths.js';

/** Weekly, early on Sunday: a full read of every relation is I/O a busy hour should not pay. */
export const AMCHECK_DEFAULT_SCHEDULE = 'Sun *-*-* 03:30:00';

/** What the host's amcheck runs, or null when it has none: on by default for production hosts, else when asked. */
export function amcheckSpec(host: Host): { schedule: string; heapallindexed: boolean } | null {
  const a = host.postgres?.amcheck;
  if (!host.postgres) return null;
  const enabled = a?.enabled ?? (a !== undefined || host.tags.includes('production'));
  return enabled ? { schedule: a?.schedule ?? AMCHECK_DEFAULT_SCHEDULE, heapallindexed: a?.heapallindexed ?? false } : null;
}

/** The job script: rendered settings, then the body (src/corruption/amcheck.sh). */
export function renderAmcheckJob(host: Host): string {
  const pg = host.postgres!;
  const spec = amcheckSpec(host)!;
  const vars = { HOST: host.name, PORT: pg.port, VERSION: pg.version, HEAPALLINDEXED: spec.heapallindexed ? 1 : 0, DIR: P.dir, STATUS: P.status, REPORT: P.report, ALERT: host.backup?.alert?.command ?? '' };
  return [
    '#!/bin/sh',
    `# ironclad amcheck job for ${host.name} (${pg.version}/${pg.cluster}), rendered by \`ironclad apply\`. Do not edit: change the inventory.`,
    ...Object.entries(vars).map(([k, v]) => `${k}=${shqAlways(v)}`),
    readFileSync(join(packageRoot(), 'src', 'corruption', 'amcheck.sh'), 'utf8'),
  ].join('\n');
}

/** The cron file (hosts without systemd). */
export function renderAmcheckCron(host: Host, cron: string): string {
  return `# ironclad amcheck of ${host.name}: ${amcheckSpec(host)!.schedule} (OnCalendar), rendered by ironclad apply\nSHELL=/bin/sh\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n${cron} root ${P.job} >/dev/null 2>&1\n`;
}

/** The systemd service and timer (hosts where systemd runs). */
export function renderAmcheckUnits(host: Host): { service: string; timer: string } {
  const s = amcheckSpec(host)!.schedule;
  return {
    service: `[Unit]\nDescription=ironclad amcheck of ${host.name}\n\n[Service]\nType=oneshot\nNice=19\nIOSchedulingClass=best-effort\nIOSchedulingPriority=7\nExecStart=${P.job}\n`,
    timer: `[Unit]\nDescription=ironclad amcheck of ${host.name} (${s})\n\n[Timer]\nOnCalendar=${s}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n`,
  };
}

function fileChange(path: string, current: string | null, content: string, mode: string, what: string): Change | undefined {
  const diff = lineDiff(current, content, path);
  if (!diff) return undefined;
  return { operation: 'amcheck', description: `${current === null ? 'install' : 'update'} ${what} (${path})`, diff: diff.length > 4000 ? `${diff.slice(0, 4000)}\n  ... (diff cut)` : diff, commands: [{ kind: 'upload', path, content, mode }] };
}

/** Install, update or remove the amcheck job; a schedule ironclad cannot read is a refusal naming the field. */
export function amcheckSteps(args: { host: Host; integrity: IntegrityFact; systemd: boolean }): PlanStep[] {
  const { host, integrity, systemd } = args;
  const files = integrity.files;
  const spec = amcheckSpec(host);
  if (!spec) {
    const present = ([[files.job, P.job], [files.cron, P.cron], [files.service, P.service], [files.timer, P.timer]] as const).filter(([f]) => f !== null).map(([, p]) => p);
    if (!present.length) return [];
    const stop = files.timer ? 'systemctl disable --now ironclad-amcheck.timer 2>/dev/null; ' : '';
    return [{ kind: 'change', change: { operation: 'amcheck', description: `remove the amcheck job the inventory no longer asks for (${present.join(', ')}; its last result stays in ${P.dir})`, commands: [{ kind: 'sh', script: `${stop}rm -f ${present.join(' ')}` }] } }];
  }
  const schedule = parseSchedule(spec.schedule);
  if (!schedule.ok) return [{ kind: 'refusal', refusal: { operation: 'amcheck', message: `hosts.${host.name}.postgres.amcheck.schedule: ${schedule.error}` } }];
  const changes: (Change | undefined)[] = [
    files.job === null ? { operation: 'amcheck', description: `create ${P.dir}`, commands: [{ kind: 'sh', script: `mkdir -p -m 700 ${P.dir} && mkdir -p ${HOST_PATHS.sbin}` }] } : undefined,
    fileChange(P.job, files.job, renderAmcheckJob(host), '755', `the amcheck job${spec.heapallindexed ? ' (heapallindexed)' : ''}`),
  ];
  if (!systemd) changes.push(fileChange(P.cron, files.cron, renderAmcheckCron(host, schedule.cron), '644', `the amcheck schedule ${spec.schedule} (cron)`));
  else {
    const units = renderAmcheckUnits(host);
    const unitChanges = [fileChange(P.service, files.service, units.service, '644', 'the amcheck service unit'), fileChange(P.timer, files.timer, units.timer, '644', `the amcheck timer ${spec.schedule}`)];
    changes.push(...unitChanges);
    if (unitChanges.some(Boolean)) changes.push({ operation: 'amcheck', description: 'enable the amcheck timer', commands: [{ kind: 'sh', script: 'systemctl daemon-reload && systemctl enable --now ironclad-amcheck.timer' }] });
  }
  return changes.filter((c): c is Change => c !== undefined).map((change) => ({ kind: 'change', change }));
}
