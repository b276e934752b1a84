// The whole audit, judged from what was gathered (pure): findings per host in a fixed order, and the backup histories.
import { backupSeries, judgeDrill, judgeFreshness, judgeJob, judgeTrend } from './backups.js';
import { finding } from './finding.js';
import { judgeCensus, judgeDisks, judgeDrift, judgeImages, judgePostgres, judgeUnknown } from './host.js';
import { judgeIntegrity } from './integrity.js';
import type { Area, AuditInput, AuditReport, BackupSeries, Finding, Level } from './types.js';
import { judgeClock } from './clock.js';
import { judgeTls } from './tls.js';

const AREAS: Area[] = ['reach', 'drift', 'instances', 'integrity', 'job', 'backup', 'trend', 'drill', 'images', 'tls', 'clock', 'postgres', 'disk', 'unknown'];
const RANK: Record<Level, number> = { ok: 0, warning: 1, failure: 2 };

/** The worst level among findings. */
export function worst(findings: Finding[]): Level {
  return findings.reduce<Level>((w, f) => (RANK[f.level] > RANK[w] ? f.level : w), 'ok');
}

/** A host's part of the report: its worst level, `ok` unless a failure, `error` when it could not be reached. */
function hostEntry(host: string, findings: Finding[]): AuditReport['hosts'][number] {
  const level = worst(findings);
  const reach = findings.find((f) => f.area === 'reach' && f.level === 'failure');
  return { host, level, ok: level !== 'failure', ...(reach ? { error: reach.message.replace(/^UNREACHABLE: /, '') } : {}), findings };
}

/** Judge everything gathered into the report `audit` prints. */
export function buildReport(input: AuditInput): AuditReport {
  const { inventory: inv, now } = input;
  const findings: Finding[] = [];
  const series: BackupSeries[] = [];
  const outcome = <T>(list: { host: string }[], name: string) => list.find((o) => o.host === name) as T | undefined;
  const entries = input.catalogs.flatMap((c) => (c.ok ? c.value : []));
  for (const c of input.catalogs) if (!c.ok) findings.push(finding(c.host, 'backup', 'store', 'failure', `could not read the store's catalog: ${c.error.message}`));
  findings.push(...(input.pitr ?? []));
  if (input.linksError) findings.push(finding('estate', 'drift', 'backup wiring', 'failure', `could not plan the backup wiring: ${input.linksError}`));
  for (const host of inv.hosts) {
    const facts = outcome<AuditInput['facts'][number]>(input.facts, host.name);
    if (!facts) continue; // not selected (--limit)
    if (!facts.ok) {
      findings.push(finding(host.name, 'reach', 'ssh', 'failure', `UNREACHABLE: ${facts.error.message}`));
      continue;
    }
    const f = facts.value.facts;
    const plan = outcome<AuditInput['plans'][number]>(input.plans, host.name);
    if (plan) findings.push(judgeDrift(host.name, plan));
    const census = outcome<AuditInput['censuses'][number]>(input.censuses, host.name);
    if (census) findings.push(judgeCensus(host.name, census));
    if (host.backup) {
      findings.push(judgeJob(host.name, f.backup_job));
      const store = host.backup.to;
      const storeRead = input.catalogs.some((c) => c.host === store && c.ok);
      const storeLeftOut = !input.catalogs.some((c) => c.host === store);
      for (const db of host.backup.databases) {
        const s = backupSeries(host.name, db, entries);
        series.push(s);
        if (storeRead) findings.push(judgeFreshness(host.name, host.backup, s, now), judgeTrend(host.name, s), judgeDrill(host.name, s, now));
        else if (storeLeftOut) findings.push(finding(host.name, 'backup', db, 'warning', `not judged: its store ${store} is not among the audited hosts (--limit)`));
      }
    }
    findings.push(...judgeIntegrity(host, f, now));
    findings.push(...judgeTls(host, f.tls, input.tls, now), ...judgeClock(host.name, f.clock, input.clocks?.find((c) => c.host === host.name)));
    findings.push(...judgePostgres(host.name, f), ...judgeDisks(host.name, f.disk), ...judgeUnknown(inv, host, f));
  }
  for (const pair of inv.images) {
    const record = outcome<AuditInput['images'][number]>(input.images, pair.name);
    if (record) findings.push(judgeImages(pair, record, now));
  }
  const order = [...inv.hosts.map((h) => h.name), 'estate'];
  const hosts = order
    .map((host) => ({ host, findings: findings.filter((x) => x.host === host).sort((a, b) => AREAS.indexOf(a.area) - AREAS.indexOf(b.area)) }))
    .filter((h) => h.findings.length)
    .map((h) => hostEntry(h.host, h.findings));
  const counts = { ok: 0, warning: 0, failure: 0 };
  for (const x of findings) counts[x.level]++;
  return { generated_at: now.toISOString(), inventory: inv.file, ok: counts.failure === 0, counts, hosts, backups: series };
}
