// Enabling data checksums on a cluster that has none (runbooks/enable-checksums.yaml): measure what the downtime will
// be, then, behind the typed confirmation, stop the inventory's cluster (its pinned identity checked first), run
// `pg_checksums --enable`, start it again whatever happened, and prove `SHOW data_checksums` says on.
import { tail } from '../connectors/output.js';
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { psqlPiped } from '../core/psql.js';
import { shq } from '../core/quote.js';
import { clusterPaths } from '../facts/cluster-state.js';
import { IDENTITY_FILE, parseIdentity } from '../facts/identity.js';
import { selectHosts } from '../inventory/load.js';
import type { Host } from '../inventory/types.js';
import { startScript } from '../operations/system.js';
import type { Action, ActionContext } from '../runbook/types.js';
import { checksumsDowntime, downtimeSeconds, durationText, parseDdRate, ASSUMED_RATE } from '../operations/estimate.js';
import { runChecksumsEnable } from './offline.js';

function pgHost(ctx: ActionContext, p: Record<string, unknown>): Host {
  const [host] = selectHosts(ctx.inv, [String(p.host)]);
  if (!host.postgres) throw new UserError(`${host.name} has no postgres section in ${ctx.inv.file}`);
  return host;
}

/** Shell printing `sum=N`, `sid=...`, `kib=...` and a read-rate sample (dd's summary) of the data directory. */
export function measureScript(host: Host): string {
  const p = clusterPaths(host.postgres!);
  return [
    `d=${shq(p.dataDirectory)}`,
    '[ -d "$d" ] || { echo "no data directory $d" >&2; exit 2; }',
    `LC_ALL=C ${p.bin}/pg_controldata "$d" | sed -n 's/^Data page checksum version: */sum=/p; s/^Database system identifier: */sid=/p'`,
    'echo "kib=$(du -sk "$d" | cut -f1)"',
    // the largest file (a relation, else a WAL segment), read past the page cache where the filesystem allows it
    `f=$(find "$d/base" "$d/pg_wal" -type f -size +1M -printf '%s %p\\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2-)`,
    'if [ -n "$f" ]; then r=$(dd if="$f" of=/dev/null bs=1M count=256 iflag=direct 2>&1) || r=$(dd if="$f" of=/dev/null bs=1M count=256 2>&1); printf \'%s\\n\' "$r" | tail -n 1; fi',
    `echo "pin=$(if [ -f ${IDENTITY_FILE} ]; then tr -d '\\n' < ${IDENTITY_FILE}; fi)"`,
  ].join('\n');
}

/** Pure: the measure script's output. */
export function parseMeasure(out: string): { checksums: 'on' | 'off' | null; sid: string | null; bytes: number | null; rate: number | null; pin: string } {
  const v = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)?.[1]?.trim() ?? null;
  const sum = v('sum');
  const kib = v('kib');
  return { checksums: sum === '0' ? 'off' : sum && /^[1-9]/.test(sum) ? 'on' : null, sid: v('sid'), bytes: kib && /^\d+$/.test(kib) ? Number(kib) * 1024 : null, rate: parseDdRate(out), pin: v('pin') ?? '' };
}

/** The cluster found must be the one ironclad pinned on this host (system identifier, data directory). */
function checkPinned(host: Host, m: ReturnType<typeof parseMeasure>): void {
  const pg = host.postgres!;
  const id = parseIdentity(m.pin || undefined);
  const pinned = id.state === 'present' ? id.identities.find((i) => i.version === pg.version && i.cluster === pg.cluster) : undefined;
  if (!pinned) throw new SafetyRefusal(`${host.name}: ${pg.version}/${pg.cluster} has no pinned identity in ${IDENTITY_FILE}: run ironclad apply first, so this is surely the inventory's cluster`);
  if (pinned.system_identifier !== m.sid || pinned.data_directory !== clusterPaths(pg).dataDirectory)
    throw new SafetyRefusal(`${host.name}: the cluster in ${clusterPaths(pg).dataDirectory} (system identifier ${m.sid ?? '?'}) is not the one pinned (${pinned.system_identifier} in ${pinned.data_directory}): refusing to stop it`);
}

export const measureAction: Action = {
  name: 'checksums.measure',
  summary: "the downtime enabling data checksums will cost: the data directory's size over a read rate measured on its disk",
  rerunOnResume: true,
  describe: (p) => `measure ${String(p.host)}'s data directory and its disk's read rate (read-only)`,
  async run(p, ctx) {
    const host = pgHost(ctx, p);
    const r = await (await ctx.pool.get(host)).run(measureScript(host));
    if (r.code !== 0) throw new OperationError(`${host.name}: measuring the data directory failed (exit ${r.code})\n${tail(r.stderr || r.stdout)}`);
    const m = parseMeasure(r.stdout);
    checkPinned(host, m);
    ctx.log(`${host.name} ${host.postgres!.version}/${host.postgres!.cluster}: data checksums ${m.checksums ?? 'unknown'}; enabling them: ${checksumsDowntime(m.bytes, m.rate)}`);
    return { checksums: m.checksums, bytes: m.bytes, rate: m.rate, seconds: m.bytes === null ? null : downtimeSeconds(m.bytes, m.rate ?? ASSUMED_RATE) };
  },
};

/** Shell printing what the running server says of its data checksums (`on`/`off`, one line). */
export const showChecksums = (port: number): string => psqlPiped('postgres', { database: 'postgres', port, format: 'tab' }, 'SHOW data_checksums;');

const controlSum = (host: Host) => {
  const p = clusterPaths(host.postgres!);
  return `LC_ALL=C ${p.bin}/pg_controldata ${shq(p.dataDirectory)} | sed -n 's/^Data page checksum version: *//p'`;
};

export const enableAction: Action = {
  name: 'checksums.enable',
  summary: 'stop the cluster, pg_checksums --enable, start it again (always), check SHOW data_checksums',
  destructive: true,
  describe: (p) => `STOP ${String(p.host)}'s cluster (about ${Number.isFinite(Number(p.seconds)) && p.seconds !== null ? durationText(Number(p.seconds)) : 'the time the measure step says'}: connections drop, nothing is served), rewrite every page with a checksum, start it again`,
  async run(p, ctx) {
    const host = pgHost(ctx, p);
    const pg = host.postgres!;
    const conn = await ctx.pool.get(host);
    const m = parseMeasure((await conn.run(measureScript(host))).stdout);
    checkPinned(host, m);
    if (m.checksums === 'on') {
      ctx.log(`${host.name}: data checksums are already on: nothing to do`);
      return { checksums: 'on', seconds: 0 };
    }
    if (m.checksums !== 'off') throw new OperationError(`${host.name}: could not read ${pg.version}/${pg.cluster}'s control file`);
    const p2 = clusterPaths(pg);
    const systemd = '[ -d /run/systemd/system ]';
    const unit = `postgresql@${pg.version}-${pg.cluster}`;
    const t0 = Date.now();
    ctx.log(`${host.name}: stopping ${pg.version}/${pg.cluster}`);
    const stop = await conn.run(`if ${systemd}; then systemctl stop ${unit}; else pg_ctlcluster --skip-systemctl-redirect ${pg.version} ${shq(pg.cluster)} stop -m fast; fi; ! [ -f ${shq(p2.dataDirectory)}/postmaster.pid ] || { echo 'the server is still running' >&2; exit 1; }`);
    if (stop.code !== 0) throw new OperationError(`${host.name}: could not stop the cluster; nothing was changed\n${tail(stop.stderr || stop.stdout)}`);
    let enabled: { code: number; output: string };
    try {
      ctx.log(`${host.name}: pg_checksums --enable (every page read and rewritten)`);
      enabled = await runChecksumsEnable({ conn, bin: p2.bin, dataDirectory: p2.dataDirectory, log: (l) => ctx.log(`${host.name}: ${l}`) });
    } finally {
      const start = await conn.run(`if ${systemd}; then systemctl start ${unit}; else sh -c ${shq(startScript(pg))}; fi`);
      if (start.code !== 0) throw new OperationError(`${host.name}: THE CLUSTER DID NOT START AGAIN (exit ${start.code}); start it by hand\n${tail(start.stderr || start.stdout)}`);
    }
    const seconds = Math.round((Date.now() - t0) / 1000);
    if (enabled.code !== 0) throw new OperationError(`${host.name}: pg_checksums failed (exit ${enabled.code}${enabled.code === 75 ? ': another pg_checksums runs there' : ''}); the cluster runs again without checksums, as before (down ${seconds} s)\n${tail(enabled.output)}`);
    const show = await conn.run(`${showChecksums(pg.port)}; ${controlSum(host)}`);
    const state = show.stdout.split('\n')[0]?.trim();
    ctx.log(`${host.name}: the cluster was down ${seconds} s; SHOW data_checksums: ${state}`);
    if (state !== 'on') throw new OperationError(`${host.name}: after pg_checksums, SHOW data_checksums says '${state ?? ''}'`);
    return { checksums: 'on', seconds };
  },
};

export const CHECKSUM_ACTIONS: Action[] = [measureAction, enableAction];
