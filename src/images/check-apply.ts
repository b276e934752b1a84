// The routine image checks across hosts, for plan and apply: each selected host's check jobs (installed on the
// replica's host of every pair with `check:`, removed where the inventory no longer asks) and their host-to-host keys
// (made on the replica's host, allowed on the source's for its scanner only), each host read in one round trip.
import { readFileSync } from 'node:fs';
import type { Connector } from '../connectors/types.js';
import { linesFor } from '../connectors/known-hosts.js';
import { UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { runCommands } from '../executor/run.js';
import { fanOut } from '../executor/fanout.js';
import type { ConnectionPool } from '../executor/pool.js';
import { buildFactScript, newNonce, splitSections } from '../facts/script.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { Change } from '../operations/types.js';
import { checkJobSteps } from './check-job.js';
import { AUTHORIZED_MARK, checkKeyPaths, KEY_DIR, ourLine, parsePublicKey } from './check-key.js';
import { keyedPairs, replicaKeySteps, sourceKeySteps, type KeyedPair, type KeyFiles } from './check-key-steps.js';
import { CHECK_UNIT, imageCheckJobs } from './check-plan.js';

/** Per host: the changes of its image check jobs. */
export interface ImageCheckPlan {
  host: string;
  changes: Change[];
}

/** The read-only command: whether systemd runs, every check job file and entry point with its content, the check keys'
 *  public halves and pinned host keys (of a private half only its name), one part each. */
export const CHECK_FILES_COMMAND = `[ -d /run/systemd/system ] && echo systemd
for f in /usr/local/sbin/${CHECK_UNIT}* /etc/cron.d/${CHECK_UNIT}* /etc/systemd/system/${CHECK_UNIT}* /usr/local/sbin/ironclad-images-source-* ${KEY_DIR}/*.pub ${KEY_DIR}/*.known_hosts; do
  [ -f "$f" ] || continue
  ic_part "$f"; cat "$f"
done
for f in ${KEY_DIR}/${CHECK_UNIT}*; do
  case $f in *.pub | *.known_hosts) continue ;; esac
  [ -f "$f" ] && ic_part "$f"
done
true`;

/** The read-only command listing ironclad's check lines in the user's authorized_keys. */
export function authorizedCommand(user: string): string {
  return `h=$(getent passwd ${shq(user)} | cut -d: -f6); f=$h/.ssh/authorized_keys
[ -n "$h" ] && [ -f "$f" ] || exit 0
grep -E ${shq(AUTHORIZED_MARK.source)} "$f" || [ $? -eq 1 ]`;
}

/** Read a host's check job and key files in one round trip. */
export async function readCheckJobFiles(conn: Connector, user: string): Promise<KeyFiles> {
  const nonce = newNonce();
  const r = await conn.run(buildFactScript([{ name: 'image_checks', command: CHECK_FILES_COMMAND }, { name: 'image_check_keys', command: authorizedCommand(user) }], nonce));
  const sections = splitSections(r.stdout, nonce);
  for (const name of ['image_checks', 'image_check_keys']) {
    const s = sections.get(name);
    if (!s || s.code !== 0) throw new Error(`${conn.host}: could not read the image check jobs (exit ${s?.code ?? r.code}): ${(s?.stderr ?? r.stderr).trim()}`);
  }
  const section = sections.get('image_checks')!;
  return { systemd: /^systemd$/m.test(section.stdout), files: new Map(section.parts.map((p) => [p.name, p.text])), authorized: sections.get('image_check_keys')!.stdout.split('\n').filter(Boolean) };
}

/** The source's host key lines a replica's host pins for its check: the inventory's verified ones, never a scan. */
function knownHostsOf(source: Host): string {
  let text = '';
  try {
    text = readFileSync(source.ssh.known_hosts, 'utf8');
  } catch {
    /* none */
  }
  const lines = linesFor(text, source.address, source.ssh.port);
  if (!lines.length) throw new UserError(`no verified host key of ${source.name} (${source.address}) in ${source.ssh.known_hosts}`, `add it (checked out of band) so the replica's check can pin it: ssh-keyscan ${source.address} >> ${source.ssh.known_hosts}`);
  return lines.join('\n') + '\n';
}

/** Plan the image check jobs and keys of the selected hosts; no other host is contacted (what one needs of another —
 *  the replica's public key — comes from that host when selected, else from the line the source already has). */
export async function planImageChecks(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<ImageCheckPlan[]> {
  const jobs = imageCheckJobs(inv);
  const keyed = keyedPairs(inv);
  const read = await fanOut(selected, async (h) => readCheckJobFiles(await pool.get(h), h.ssh.user));
  const have = new Map<string, KeyFiles>();
  for (const o of read) {
    if (!o.ok) throw o.error;
    have.set(o.host, o.value);
  }
  const keyOf = (k: KeyedPair): string | null => {
    const replica = have.get(k.replica.name);
    if (replica) return replica.files.has(checkKeyPaths(k.unit).key) ? parsePublicKey(replica.files.get(checkKeyPaths(k.unit).pub) ?? '') : null;
    return have.get(k.source.name)?.authorized.map(ourLine).find((l) => l?.unit === k.unit)?.key ?? null;
  };
  return selected.flatMap((h) => {
    const files = have.get(h.name)!;
    const changes = [
      ...replicaKeySteps({ host: h.name, pairs: keyed, have: files, knownHosts: knownHostsOf }),
      ...checkJobSteps({ jobs: jobs.filter((j) => j.host === h.name), pairs: inv.images, hosts: inv.hosts, have: files }),
      ...sourceKeySteps({ host: h, pairs: keyed, have: files, keyOf }),
    ];
    return changes.length ? [{ host: h.name, changes }] : [];
  });
}

/** Apply them: each host's changes in order, then again while a source waited for a key made just now; what was done. */
export async function applyImageChecks(inv: Inventory, selected: Host[], pool: ConnectionPool): Promise<Map<string, Change[]>> {
  const applied = new Map<string, Change[]>();
  for (let round = 0; round < 3; round++) {
    const plans = (await planImageChecks(inv, selected, pool)).map((p) => ({ ...p, name: p.host, changes: p.changes.filter((c) => c.commands.length) })).filter((p) => p.changes.length);
    if (!plans.length) break;
    const outs = await fanOut(plans, async (p) => {
      const conn = await pool.get(selected.find((h) => h.name === p.host)!);
      for (const c of p.changes) {
        await runCommands(conn, c.commands);
        applied.set(p.host, [...(applied.get(p.host) ?? []), c]);
      }
    });
    for (const o of outs) if (!o.ok) throw o.error;
  }
  return applied;
}
