// One refresh (or restore) into a database at a time: a lock on the target host, held for the whole run by a command
// whose SSH channel stays open; it ends when the run's connections close, or when the operator's machine goes away.
import { hostname } from 'node:os';
import { PATHS } from '../backup/render.js';
import type { Connector } from '../connectors/types.js';
import { OperationError, SafetyRefusal } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { PRODUCTION_MARKER_FILE } from '../facts/identity.js';
import { tail } from '../connectors/output.js';
import type { Host } from '../inventory/types.js';

const BUSY = 75;

/** The shell text that takes the lock of a database on its host and holds it (pure): `held` once taken; exit 75 with
 *  the holder's description on stderr when another run has it (stdout is for `held` only); exit 0 at once on a
 *  production machine, unless `onProduction` (restore-production, whose target is production by design). */
export function lockScript(database: string, holder: string, onProduction = false): string {
  const file = shq(`${PATHS.refreshDir}/${database}.lock`);
  const holding = `printf '%s\\n' ${shq(holder)} > ${file}; echo held; exec cat > /dev/null`;
  // nothing is written on a machine marked production: the guard step refuses it
  return `${onProduction ? '' : `[ ! -e ${PRODUCTION_MARKER_FILE} ] || exit 0; `}mkdir -p ${PATHS.refreshDir} && flock -n -E ${BUSY} ${file} sh -c ${shq(holding)}; rc=$?; [ $rc -ne ${BUSY} ] || cat ${file} >&2; exit $rc`;
}

/** Take the lock of `database` on the target for this process's run; refused (exit 3) while another run holds it.
 *  `onProduction`: take it on a machine marked production too (restore-production's target step). */
export async function lockTarget(conn: Connector, host: Host, database: string, onProduction = false): Promise<void> {
  const ended = await conn.hold(lockScript(database, `ironclad on ${hostname()} (pid ${process.pid}) since ${new Date().toISOString()}`, onProduction));
  if (!ended || ended.code === 0) return; // held, or a production machine (refused by the guard step)
  if (ended.code === BUSY)
    throw new SafetyRefusal(`another refresh or restore into ${database} on ${host.name} is running (${ended.stderr.trim() || 'holder unknown'}): two at once would overwrite each other's ${database}__incoming. Wait for it to end (or stop it), then run this again`);
  throw new OperationError(`${host.name}: cannot take the lock of ${database} (exit ${ended.code})\n${tail(ended.stderr || ended.stdout)}`);
}
