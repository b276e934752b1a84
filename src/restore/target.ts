// restore-production's first step (again on every --resume): which host and which cluster the restore is about to go
// onto, said plainly for the typed confirmation, and the refusals a typo must meet before anything is fetched.
// A production host is the point of this runbook, so the refresh's production guard is not applied; instead:
// never a refresh target (its data must be scrubbed), never a host whose address turns out to be the source's machine
// under another name, one expected instance whose running cluster is the one apply pinned, room on its disk.
import { readCatalog } from '../backup/catalog.js';
import { sqlRows } from '../connectors/sql.js';
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { shq, sqlLiteral } from '../core/quote.js';
import { gatherFacts } from '../facts/gather.js';
import { IDENTITY_FILE } from '../facts/identity.js';
import { checkInstances } from '../instances/check.js';
import type { Inventory, Host } from '../inventory/types.js';
import type { Refresh, StepRun } from '../refresh/db.js';
import { refuseSourceCluster } from '../refresh/guard.js';
import { lockTarget } from '../refresh/lock.js';
import { sqlOn } from '../refresh/login.js';
import { checkKeptFits } from './names.js';

/** The refresh that writes to a host, if any (pure): restore-production never puts unscrubbed data in service there. */
export function refreshInto(inv: Inventory, host: Host): string | undefined {
  return Object.entries(inv.refresh).find(([, s]) => s.to.host === host.name)?.[0];
}

/** Bytes a restore needs on the target's data disk (pure): the copied backup twice (encrypted and decrypted side by
 *  side while it is decrypted) and the restored database, estimated as the live one's size, else 4x the dump. */
export function bytesNeeded(dumpBytes: number, liveBytes: number | null): number {
  return 2 * dumpBytes + Math.max(liveBytes ?? 0, 4 * dumpBytes);
}

const GiB = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;

/** What restoreTarget found: the host, its cluster's identity, whether it is the backups' own cluster, and the text of
 *  the typed confirmation. */
export interface TargetFound {
  host: string;
  system_identifier: string;
  same_cluster: boolean;
  production: boolean;
  summary: string;
}

/** Say which host and cluster a restore goes onto, after the refusals (`from`: a backup id, or latest/undefined). */
export async function restoreTarget(ctx: StepRun, inv: Inventory, r: Refresh, o: { from?: string }): Promise<TargetFound> {
  const db = r.spec.to.database;
  checkKeptFits(db);
  const refresh = refreshInto(inv, r.target);
  if (refresh)
    throw new SafetyRefusal(`${r.target.name} is the target of refresh '${refresh}', whose data must be scrubbed: restore-production would put ${r.source.name}'s data in service there unscrubbed. Check --set target=...; nothing was changed`);
  if (r.target.name !== r.source.name) await refuseSourceCluster(ctx, r); // the inventory's address for it is the source's machine
  const conn = await ctx.pool.get(r.target);
  const store = await ctx.pool.get(r.store);
  const port = r.target.postgres!.port;
  const [census, facts, [[sysid]], live, catalog] = await Promise.all([
    checkInstances(conn, r.target),
    gatherFacts(conn, ['identity', 'production_marker', 'os']),
    sqlRows(conn, sqlOn(r.target, 'postgres'), 'SELECT system_identifier FROM pg_control_system();'),
    sqlRows(conn, sqlOn(r.target, 'postgres'), `SELECT pg_database_size(oid) FROM pg_database WHERE datname = ${sqlLiteral(db)};`),
    readCatalog(store, r.store),
  ]);
  if (census.problems.length) throw new SafetyRefusal(`the single-instance check failed on ${r.target.name}:\n  - ${census.problems.join('\n  - ')}`);
  const id = facts.facts.identity;
  const pinned = id.state === 'present' ? id.identities.find((i) => i.port === port) : undefined;
  if (!pinned) throw new SafetyRefusal(`${r.target.name} has no pinned identity for its cluster on port ${port} in ${IDENTITY_FILE} (${id.state === 'invalid' ? id.error : id.state}): run ironclad apply --limit ${r.target.name} first, so that the cluster a restore goes onto is known`);
  if (pinned.system_identifier !== sysid) throw new SafetyRefusal(`${r.target.name}: the cluster on port ${port} is ${sysid}, not the one apply pinned (${pinned.system_identifier}): re-initialized? nothing was changed`);
  const backups = catalog.entries.filter((e) => e.host === r.source.name && e.database === r.spec.from.database);
  const from = backups.find((e) => (o.from && o.from !== 'latest' ? e.id === o.from : e.verified)) ?? backups[0];
  const same = from !== undefined && from.system_identifier === sysid;
  const liveBytes = live.length ? Number(live[0][0]) : null;
  if (from) {
    const df = await conn.run(`df -P -B1 ${shq(pinned.data_directory)} | awk 'NR == 2 { print $4 }'`);
    const avail = Number(df.stdout.trim());
    if (df.code !== 0 || !Number.isFinite(avail) || df.stdout.trim() === '') throw new OperationError(`${r.target.name}: cannot read the free space of ${pinned.data_directory} (exit ${df.code})`);
    const need = bytesNeeded(from.bytes, liveBytes);
    if (avail < need)
      throw new SafetyRefusal(`${r.target.name}: ${GiB(avail)} free on ${pinned.data_directory}, the restore needs about ${GiB(need)} (the copied backup twice, and a database the size of ${liveBytes === null ? '4x the dump' : `the live ${db}`}): a full disk would stop the live cluster too. Free space first; nothing was changed`);
    ctx.log(`${GiB(avail)} free on ${pinned.data_directory}, about ${GiB(need)} needed`);
  }
  const hostname = facts.facts.os.hostname ?? '?';
  const marker = facts.facts.production_marker.present;
  // one run into this database at a time, on production too (the CLI's lock stops short of a production machine)
  if (marker) await lockTarget(conn, r.target, db, true);
  const summary =
    `${r.target.name} (address ${r.target.address}, hostname ${hostname}${marker ? ', marked production' : ''}), cluster ${pinned.version}/${pinned.cluster} on port ${port}, system identifier ${sysid} (pinned by apply ${pinned.pinned_at}): ` +
    (same ? `the very cluster ${r.source.name}'s backups were taken from (an in-place restore)` : `a different cluster from the one the backups were taken from (${from?.system_identifier ?? 'no backup'}): a replacement`) +
    `; ${liveBytes === null ? `no database ${db} there yet` : `${db} there now: ${GiB(liveBytes)}`}`;
  ctx.log(summary);
  ctx.log(`${r.target.name}: one instance, as expected`);
  return { host: r.target.name, system_identifier: sysid, same_cluster: same, production: marker, summary };
}
