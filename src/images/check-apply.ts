// The routine image checks across hosts, for plan and apply: each selected host's check jobs (installed on the
// replica's host of every pair with `check:`, removed where the inventory no longer asks), read in one round trip.
import type { Connector } from '../connectors/types.js';
import { runCommands } from '../executor/run.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { buildFactScript, newNonce, splitSections } from '../facts/script.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { checkJobSteps, type CheckJobFiles } from './check-job.js';
import { CHECK_UNIT, imageCheckJobs } from './check-plan.js';

/** Per host: the changes of its image check jobs. */
export interface ImageCheckPlan {
  host: string;
  changes: Change[];
}

/** The read-only command: whether systemd runs, and every check job file with its content (one part each). */
export const CHECK_FILES_COMMAND = `[ -d /run/systemd/system ] && echo systemd
for f in /usr/local/sbin/${CHECK_UNIT}* /etc/cron.d/${CHECK_UNIT}* /etc/systemd/system/${CHECK_UNIT}*; do
  [ -f "$f" ] || continue
  ic_part "$f"; cat "$f"
done
true`;

/** Read a host's check job files in one round trip. */
export async function readCheckJobFiles(conn: Connector): Promise<CheckJobFiles> {
  const nonce = newNonce();
  const r = await conn.run(buildFactScript([{ name: 'image_checks', command: CHECK_FILES_COMMAND }], nonce));
  const section = splitSections(r.stdout, nonce).get('image_checks');
  if (!section || section.code !== 0) throw new Error(`${conn.host}: could not read the image check jobs (exit ${section?.code ?? r.code}): ${(section?.stderr ?? r.stderr).trim()}`);
  return { systemd: /^systemd$/m.test(section.stdout), files: new Map(section.parts.map((p) => [p.name, p.text])) };
}

/** Plan the image check jobs of the selected hosts; no other host is contacted (a source's address is the inventory's). */
export async function planImageChecks(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<ImageCheckPlan[]> {
  const jobs = imageCheckJobs(inv);
  const outs = await fanOut(selected, async (h) => {
    const have = await readCheckJobFiles(await pool.get(h));
    return checkJobSteps({ jobs: jobs.filter((j) => j.host === h.name), pairs: inv.images, hosts: inv.hosts, have });
  });
  return outs.flatMap((o) => {
    if (!o.ok) throw o.error;
    return o.value.length ? [{ host: o.host, changes: o.value }] : [];
  });
}

/** Apply them: each host's changes in order; what was done, by host. */
export async function applyImageChecks(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<Map<string, Change[]>> {
  const applied = new Map<string, Change[]>();
  const plans = await planImageChecks(inv, selected, pool);
  const outs = await fanOut(
    plans.map((p) => ({ ...p, name: p.host })),
    async (p) => {
      const conn = await pool.get(selected.find((h) => h.name === p.host)!);
      for (const c of p.changes) {
        await runCommands(conn, c.commands);
        applied.set(p.host, [...(applied.get(p.host) ?? []), c]);
      }
    },
  );
  for (const o of outs) if (!o.ok) throw o.error;
  return applied;
}
