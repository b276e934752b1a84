// Judging a database host's integrity: data checksums on its clusters, the damage PostgreSQL itself has seen (checksum
// failures, page errors in the log, since the last recorded repair), and the scheduled amcheck's last result and age.
import { amcheckSpec } from '../corruption/job.js';
import { checksumsDowntime } from '../operations/estimate.js';
import { INTEGRITY_PATHS } from '../corruption/paths.js';
import { sqlIdent } from '../core/quote.js';
import type { ClusterCorruption, LogHit } from '../facts/corruption.js';
import { fileNode } from '../facts/corruption.js';
import type { IntegrityFact } from '../facts/integrity.js';
import { parseSchedule } from '../inventory/schedule.js';
import type { Host } from '../inventory/types.js';
import { ageText, finding } from './finding.js';
import type { Area, Finding } from './types.js';

const AREA = 'integrity' as string as Area;
const GRACE_MS = 6 * 3600_000;
const runbook = (host: string) => `run: ironclad runbook run runbooks/corruption.yaml --set host=${host}`;

/** How often a schedule runs at most, from its cron form: weekly when weekdays are named, monthly by day, else daily
 *  (hourly when the hour is open). */
export function schedulePeriodMs(schedule: string): number | null {
  const s = parseSchedule(schedule);
  if (!s.ok) return null;
  const [, hour, dom, month, dow] = s.cron.split(' ');
  if (month !== '*') return 366 * 86400_000;
  if (dom !== '*') return 31 * 86400_000;
  if (dow !== '*') return 7 * 86400_000;
  return hour === '*' ? 3600_000 : 86400_000;
}

/** A damaged file in words, its relation named (quoted: names are data) when the database still knows it. */
export function hitText(hit: LogHit, c: ClusterCorruption): string {
  const node = fileNode(hit.path);
  const rel = node && c.relations.find((r) => r.dboid === node.dboid && r.filenode === node.filenode);
  const where = rel ? `${sqlIdent(rel.schema)}.${sqlIdent(rel.relation)} in database ${sqlIdent(rel.database)}` : hit.path ? `file ${hit.path} (no relation has it now)` : 'a page (the log line names no file)';
  return `${where}${hit.block !== null ? ` block ${hit.block}` : ''}`;
}

/** The corruption PostgreSQL reported since the last recorded repair (`cleared`), one failure line per cluster. */
export function judgeDamage(host: string, clusters: ClusterCorruption[], cleared: string | null): Finding[] {
  const after = (t: string | null) => cleared === null || t === null || t > cleared;
  return clusters.map((c) => {
    const name = `${c.version}/${c.cluster}`;
    const counted = (c.counters ?? []).filter((x) => (x.failures ?? 0) > 0 && after(x.last));
    const hits = c.log.filter((h) => after(h.time));
    if (!counted.length && !hits.length) {
      const what = c.counters === null ? 'no page errors in its log (server down: counters not read)' : 'no checksum failures counted, no page errors in its log';
      return finding(host, AREA, `damage ${name}`, 'ok', `${what}${cleared ? ` since the repair recorded ${cleared}` : ''}`);
    }
    const places = [...new Set(hits.filter((h) => h.path !== null).map((h) => hitText(h, c)))];
    const since = [...hits.map((h) => h.time), ...counted.map((x) => x.last)].filter((t): t is string => t !== null).sort()[0];
    const details = [
      ...counted.map((x) => `${x.failures} checksum failure${x.failures === 1 ? '' : 's'} in database ${x.database === null ? '(shared catalogs)' : sqlIdent(x.database)}, the last at ${x.last ?? '?'}`),
      ...places.map((p) => `damaged: ${p}`),
      runbook(host),
    ];
    const head = places.length ? places.slice(0, 3).join('; ') : counted.map((x) => `database ${x.database === null ? '(shared)' : sqlIdent(x.database)}`).join(', ');
    return finding(host, AREA, `damage ${name}`, 'failure', `CORRUPTION on ${name}: ${head}${since ? ` (first seen ${since})` : ''}`, details);
  });
}

/** Data checksums on the inventory's cluster. */
export function judgeChecksums(host: Host, integrity: IntegrityFact): Finding[] {
  const pg = host.postgres;
  if (!pg) return [];
  const c = integrity.clusters.find((x) => x.version === pg.version && x.cluster === pg.cluster);
  const name = `${pg.version}/${pg.cluster}`;
  if (!c) return [];
  if (c.checksums === 'on') return [finding(host.name, AREA, `checksums ${name}`, 'ok', `data checksums on`)];
  if (c.checksums === null) return [finding(host.name, AREA, `checksums ${name}`, 'warning', 'could not read the control file: data checksums unknown')];
  return [finding(host.name, AREA, `checksums ${name}`, 'warning', `data checksums OFF: a damaged page is read as good data`, [`enabling them stops the cluster: ${checksumsDowntime(c.data_bytes, null)}`, `run: ironclad runbook run runbooks/enable-checksums.yaml --set host=${host.name}`])];
}

/** The scheduled amcheck: red on corruption it found, yellow when it could not check, never ran or is overdue. */
export function judgeAmcheck(host: Host, integrity: IntegrityFact, now: Date): Finding[] {
  const spec = amcheckSpec(host);
  if (!spec) return [];
  const subject = 'amcheck';
  const last = integrity.last;
  if (!integrity.files.job) return [finding(host.name, AREA, subject, 'warning', `the amcheck job (${spec.schedule}) is not installed`, ['run: ironclad apply'])];
  if (!last) return [finding(host.name, AREA, subject, 'warning', `the amcheck job (${spec.schedule}) has never run`, [`run it now: ${INTEGRITY_PATHS.job} on the host`])];
  const at = last.finished ?? last.started;
  const age = now.getTime() - Date.parse(at);
  const when = `checked ${ageText(age)} ago (${at}${last.seconds !== null ? `, took ${last.seconds} s` : ''})`;
  if (last.state === 'corrupt') {
    const rel = integrity.findings.map((f) => `${f.kind === 'index' ? 'index' : 'table'} ${JSON.stringify(f.relation)}${f.block !== null ? ` block ${f.block}` : ''}: ${f.message}`);
    const names = [...new Set(integrity.findings.map((f) => `${f.kind === 'index' ? 'index' : 'table'} ${JSON.stringify(f.relation)}`))];
    return [finding(host.name, AREA, subject, 'failure', `CORRUPTION found by amcheck, ${when}: ${names.slice(0, 4).join(', ') || 'see its report'}`, [...rel.slice(0, 20), `report: ${INTEGRITY_PATHS.report}`, runbook(host.name)])];
  }
  if (last.state === 'failed') return [finding(host.name, AREA, subject, 'warning', `amcheck could not check (exit ${last.exit ?? '?'}), ${when}`, [`report: ${INTEGRITY_PATHS.report}`])];
  const period = schedulePeriodMs(spec.schedule);
  if (period !== null && age > period + GRACE_MS) return [finding(host.name, AREA, subject, 'warning', `the last amcheck is older than its schedule (${spec.schedule}): ${when}`, ['is the job running? see cron / systemctl list-timers'])];
  return [finding(host.name, AREA, subject, 'ok', `no corruption found, ${when}`)];
}

/** Every integrity line of a host (the audit calls this beside the other host judgements). */
export function judgeIntegrity(host: Host, facts: { integrity: IntegrityFact; corruption: ClusterCorruption[] }, now: Date): Finding[] {
  if (!host.postgres) return [];
  return [...judgeChecksums(host, facts.integrity), ...judgeDamage(host.name, facts.corruption, facts.integrity.cleared), ...judgeAmcheck(host, facts.integrity, now)];
}
