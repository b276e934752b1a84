// Judging what one host is: drift from the inventory, the census, disks, the Postgres version, and what nobody declared.
import { PATHS } from '../backup/render.js';
import { archivingClients, PITR_PATHS, pitrOf } from '../pitr/render.js';
import { amcheckSpec } from '../corruption/job.js';
import { INTEGRITY_PATHS } from '../corruption/paths.js';
import type { HostOutcome } from '../executor/fanout.js';
import { humanBytes, plural } from '../facts/render.js';
import type { FactValues } from '../facts/types.js';
import { imageCheckJobs, judgeCheck } from '../images/check-plan.js';
import type { ImageRecord } from '../images/record.js';
import { PROBLEMS } from '../images/types.js';
import { expectedClusters } from '../instances/expect.js';
import type { HostCensus } from '../instances/types.js';
import type { Host, ImagePair, Inventory } from '../inventory/types.js';
import type { HostPlan } from '../provision/plan.js';
import { ageText, finding } from './finding.js';
import type { Finding } from './types.js';
import { isRoutineRenewal } from './tls.js';

/** A mount this full is worth a look; this full, a failure (a dump or a restore will not fit). */
export const DISK_WARNING_PERCENT = 80;
export const DISK_FAILURE_PERCENT = 90;
/** An image comparison older than this is due again. */
export const IMAGES_MAX_AGE_MS = 8 * 86400_000;

/** What `apply` would change here: any change is drift. */
export function judgeDrift(host: string, plan: HostOutcome<HostPlan>): Finding {
  if (!plan.ok) return finding(host, 'drift', 'inventory', 'failure', `could not plan: ${plan.error.message}`);
  const { changes, deferred, refusals } = plan.value;
  // a cluster without data checksums is judged by the integrity line (apply never enables them: the plan only says how)
  const all = [...changes, ...deferred.filter((c) => c.operation !== 'checksums')];
  const details = [...refusals.map((r) => `apply refuses: ${r.message}`), ...all.map((c) => `${c.operation}: ${c.description}`)];
  if (!details.length) return finding(host, 'drift', 'inventory', 'ok', 'matches the inventory: apply would change nothing');
  if (!refusals.length && isRoutineRenewal(all))
    return finding(host, 'drift', 'inventory', 'warning', 'routine: apply would renew the TLS certificate (it nears its end)', details);
  return finding(host, 'drift', 'inventory', 'failure', `DRIFT: apply would make ${plural(all.length, 'change')}${refusals.length ? ` and refuses ${refusals.length}` : ''}`, details);
}

/** The single-instance census, in one line. */
export function judgeCensus(host: string, census: HostOutcome<HostCensus>): Finding {
  if (!census.ok) return finding(host, 'instances', 'census', 'failure', `the census could not run: ${census.error.message}`);
  const c = census.value;
  if (!c.ok) return finding(host, 'instances', 'census', 'failure', `${plural(c.problems.length, 'instance problem')}`, c.problems);
  const seen = c.instances.map((i) => `port ${i.port} ${i.data_directory} (system identifier ${i.system_identifier})`);
  return finding(host, 'instances', 'census', 'ok', `exactly the expected instance${seen.length > 1 ? 's' : ''}: ${seen.join('; ')}`);
}

/** One line per mount, by how full it is. */
export function judgeDisks(host: string, disks: FactValues['disk']): Finding[] {
  return disks.map((d) => {
    const level = d.used_percent >= DISK_FAILURE_PERCENT ? 'failure' : d.used_percent >= DISK_WARNING_PERCENT ? 'warning' : 'ok';
    return finding(host, 'disk', d.mount, level, `${d.used_percent}% used of ${humanBytes(d.size)}, ${humanBytes(d.available)} free`);
  });
}

/** The installed server version and whether apt has a newer minor release for it. */
export function judgePostgres(host: string, facts: Pick<FactValues, 'postgres_packages' | 'postgres_updates'>): Finding[] {
  const servers = facts.postgres_packages.filter((p) => p.installed && /^postgresql-\d+$/.test(p.name));
  if (!servers.length) return [];
  const installed = servers.map((p) => `${p.name} ${p.version}`).join(', ');
  const pending = facts.postgres_updates.filter((u) => u.pending);
  if (pending.length)
    return [finding(host, 'postgres', 'version', 'warning', `${installed}; minor updates pending`, [...pending.map((u) => `${u.name}: ${u.installed} -> ${u.candidate}`), 'apt-get install --only-upgrade these, then restart the cluster in a quiet hour'])];
  return [finding(host, 'postgres', 'version', 'ok', `${installed}, no update pending`)];
}

/** The cron files ironclad itself installs on this host, by the inventory. */
function ironcladCronFiles(inv: Inventory, host: Host, systemd: boolean): string[] {
  const files: string[] = [];
  if (host.backup && !systemd) files.push(PATHS.cron.split('/').pop()!);
  if (amcheckSpec(host) && !systemd) files.push(INTEGRITY_PATHS.cron.split('/').pop()!);
  if (host.backup_store && inv.hosts.some((h) => h.backup?.to === host.name)) files.push(PATHS.pruneCron.split('/').pop()!, PATHS.healthCron.split('/').pop()!);
  if (pitrOf(host)) files.push(PITR_PATHS.heartbeatCron.split('/').pop()!); // continuous archiving (src/pitr/render.ts)
  if (host.backup_store && archivingClients(host, inv.hosts).length) files.push(PITR_PATHS.cron.split('/').pop()!);
  if (!systemd) files.push(...imageCheckJobs(inv).filter((j) => j.host === host.name).map((j) => j.unit)); // routine image checks, on the replica's host
  return files;
}

/** Clusters, cron entries and ironclad jobs on the host that the inventory does not account for. */
export function judgeUnknown(inv: Inventory, host: Host, facts: Pick<FactValues, 'clusters' | 'jobs' | 'os' | 'backup_job'>): Finding[] {
  const out: Finding[] = [];
  const expected = expectedClusters(host).map((c) => `${c.version}/${c.cluster}`);
  for (const c of facts.clusters.filter((c) => !expected.includes(`${c.version}/${c.cluster}`)))
    out.push(finding(host.name, 'unknown', `cluster ${c.version}/${c.cluster}`, 'failure', `UNKNOWN CLUSTER ${c.version}/${c.cluster} (port ${c.port ?? '?'}, ${c.status}, ${c.data_directory ?? '?'}) is not in the inventory`, ['declare it (postgres.extra_clusters) or remove it with pg_dropcluster after checking what it holds']));
  const ours = ironcladCronFiles(inv, host, facts.os.systemd);
  for (const f of facts.jobs.cron_d.filter((f) => !f.package && !ours.includes(f.name))) {
    const stale = f.name.startsWith('ironclad-');
    out.push(finding(host.name, 'unknown', `/etc/cron.d/${f.name}`, stale ? 'failure' : 'warning', stale ? `ironclad's ${f.name} is installed but the inventory no longer asks for it` : `cron file with ${plural(f.lines.length, 'entry', 'entries')} that no package ships and the inventory does not know`, f.lines));
  }
  if (facts.jobs.root_crontab.length)
    out.push(finding(host.name, 'unknown', 'root crontab', 'warning', `root's crontab has ${plural(facts.jobs.root_crontab.length, 'entry', 'entries')} the inventory does not know`, facts.jobs.root_crontab));
  const job = facts.backup_job;
  if (job.installed && !host.backup) out.push(finding(host.name, 'unknown', PATHS.job, 'failure', 'a backup job is installed but the inventory has no backup for this host', [`it backs up: ${job.databases.join(', ')}`]));
  const removed = host.backup ? job.databases.filter((d) => !host.backup!.databases.includes(d)) : [];
  if (removed.length) out.push(finding(host.name, 'unknown', PATHS.job, 'failure', `the backup job still dumps ${removed.join(', ')}, which the inventory no longer backs up`, ['run: ironclad apply']));
  if (!out.length) out.push(finding(host.name, 'unknown', 'host', 'ok', 'nothing here that the inventory does not know'));
  return out;
}

/** The last comparison of an image pair, recorded on its replica. */
export function judgeImages(pair: ImagePair, record: HostOutcome<ImageRecord | null>, now: Date): Finding {
  const host = pair.replica.host;
  const again = [`run: ironclad images compare ${pair.name}`];
  if (!record.ok) return finding(host, 'images', pair.name, 'failure', `could not read the last comparison: ${record.error.message}`);
  const r = record.value;
  // a pair with a routine check is judged by it (coverage, rot, missed runs)
  const checked = judgeCheck(pair, r, now);
  if (checked) return finding(host, 'images', pair.name, checked.level, checked.message, checked.hints);
  if (!r) return finding(host, 'images', pair.name, 'warning', 'never compared with production', again);
  const age = now.getTime() - Date.parse(r.at);
  const when = `compared ${ageText(age)} ago`;
  const problems = PROBLEMS.filter((p) => r.counts[p] > 0).map((p) => `${r.counts[p]} ${p.replace('_', ' ')}`);
  if (r.walk_errors) problems.push(`${r.walk_errors} unreadable directories`);
  if (!r.ok) return finding(host, 'images', pair.name, 'failure', `DISCREPANCIES ${when}: ${problems.join(', ')}`, [`run: ironclad images compare ${pair.name} --report FILE for every path`]);
  const what = `${when}: ${r.equal} files equal (${humanBytes(r.source.bytes)}, ${r.hash}, ${r.mode})`;
  return age > IMAGES_MAX_AGE_MS ? finding(host, 'images', pair.name, 'warning', `${what}: due again`, again) : finding(host, 'images', pair.name, 'ok', what);
}
