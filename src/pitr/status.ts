// The recovery window of each archiving cluster, as the store's script reports it (`ironclad-pitr status`): parsed
// strictly (a line of another shape is an error naming the store, never half-read), shaped for `pitr status`, and the
// progress of a base backup as pg_basebackup reports it. Pure.

/** One cluster's window (DESIGN.md: host, cluster, earliest, latest, lag_s, archiving; the rest added). */
export interface ClusterWindow {
  host: string;
  cluster: string;
  earliest: string | null;
  latest: string | null;
  lag_s: number | null;
  archiving: boolean;
  store: string;
  bases: number;
  segments: number;
  gap: boolean;
  received_s: number | null;
  receiver: boolean;
  stopped: string | null;
  /** When archiving of this host began, by the store's clock (null: not recorded). */
  since: string | null;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const isTime = (v: unknown): v is string | null => v === null || (typeof v === 'string' && TIME.test(v));
const isCount = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isInteger(v));

/** Parse the script's JSON lines (one per host) from a store; throws naming the store and the line when one is wrong. */
export function parseStatus(stdout: string, store: string): ClusterWindow[] {
  const out: ClusterWindow[] = [];
  for (const line of stdout.split('\n').filter((l) => l.trim())) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(line);
    } catch {
      throw new Error(`${store}: not a status line: ${line.slice(0, 120)}`);
    }
    const ok =
      typeof j.host === 'string' && typeof j.cluster === 'string' && isTime(j.earliest) && isTime(j.latest) && isCount(j.lag_s) && typeof j.archiving === 'boolean' &&
      isCount(j.bases) && isCount(j.segments) && typeof j.gap === 'boolean' && isCount(j.received_s) && typeof j.receiver === 'boolean' && (j.stopped === null || typeof j.stopped === 'string') &&
      (j.since === undefined || isTime(j.since));
    if (!ok) throw new Error(`${store}: a status line of another shape: ${line.slice(0, 120)}`);
    out.push({
      host: j.host as string,
      cluster: j.cluster as string,
      earliest: j.earliest as string | null,
      latest: j.latest as string | null,
      lag_s: j.lag_s as number | null,
      archiving: j.archiving as boolean,
      store,
      bases: j.bases as number,
      segments: j.segments as number,
      gap: j.gap as boolean,
      received_s: j.received_s as number | null,
      receiver: j.receiver as boolean,
      stopped: j.stopped as string | null,
      since: (j.since as string | null | undefined) ?? null,
    });
  }
  return out;
}

/** What `pitr status --json` prints. */
export function statusJson(windows: ClusterWindow[]): { clusters: ClusterWindow[] } {
  return { clusters: windows };
}

/** Seconds as a person reads them. */
export function humanSeconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/** The text of `pitr status`: one line per cluster, then what is wrong. */
export function renderStatus(windows: ClusterWindow[]): string {
  if (!windows.length) return 'no host archives continuously (a host with backup: archives unless pitr.enabled is false; run ironclad apply)';
  return windows
    .map((w) => {
      const head = `${w.host} ${w.cluster} (on ${w.store}): ${w.earliest && w.latest ? `restorable from ${w.earliest} to ${w.latest}, lag ${humanSeconds(w.lag_s)}` : 'no recovery window yet'}; archiving ${w.archiving ? 'ok' : 'NOT OK'}`;
      const why = [
        !w.receiver && 'the receiver is not running',
        w.stopped && `receiving stopped: ${w.stopped}`,
        w.gap && 'a WAL gap: the window starts after it (take a base backup: ironclad pitr base --host ' + w.host + ')',
        w.bases === 0 && 'no base backup yet (ironclad pitr base --host ' + w.host + ')',
        w.received_s !== null && !w.stopped && w.receiver && !w.archiving && `no WAL for ${humanSeconds(w.received_s)}`,
      ].filter(Boolean);
      return [head, `  ${w.bases} base backups, ${w.segments} WAL segments`, ...why.map((x) => `  ! ${x}`)].join('\n');
    })
    .join('\n');
}

/** pg_basebackup's last progress report (`-P`: "DONE/TOTAL kB (P%)") in a log where \r separates reports. */
export function parseBaseProgress(log: string): { doneBytes: number; totalBytes: number } | null {
  const reports = [...log.matchAll(/(\d+)\/(\d+) kB \(\d+%\)/g)];
  const last = reports[reports.length - 1];
  return last ? { doneBytes: Number(last[1]) * 1024, totalBytes: Number(last[2]) * 1024 } : null;
}

/** One progress line: bytes, rate, time left. */
export function progressLine(p: { doneBytes: number; totalBytes: number }, seconds: number): string {
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  const rate = seconds > 0 ? p.doneBytes / seconds : 0;
  const left = rate > 0 ? Math.max(0, Math.round((p.totalBytes - p.doneBytes) / rate)) : null;
  return `${mb(p.doneBytes)} of ${mb(p.totalBytes)}, ${mb(rate)}/s, ${left === null ? '?' : humanSeconds(left)} left`;
}
