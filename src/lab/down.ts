// `lab down`: stop hosts by their recorded pid, remove netns, veths and (for the whole lab) the bridge,
// then wipe their disks unless asked to keep them; the lab key is always kept.
import { OperationError } from '../core/errors.js';
import { mustRun } from './exec.js';
import { syncKnownHosts } from './keys.js';
import { withLabLock } from './lock.js';
import { isWholeLab, selectLabHosts, type LabPlan } from './plan.js';
import { observeLab } from './status.js';
import { labDownScript } from './teardown.js';

/** What `lab down` did. */
export interface LabDownResult {
  hosts: { host: string; killed: number[] }[];
  bridge: { name: string; removed: boolean };
  wiped: boolean;
  durationMs: number;
}

/** Pids the teardown script reports as killed (`killed HOST PID` lines), by host. */
export function parseKilled(stdout: string): Map<string, number[]> {
  const killed = new Map<string, number[]>();
  for (const m of stdout.matchAll(/^killed (\S+) (\d+)$/gm)) killed.set(m[1]!, [...(killed.get(m[1]!) ?? []), Number(m[2])]);
  return killed;
}

/** Take the lab (or the named hosts) down and check that nothing of them is left. */
export async function labDown(plan: LabPlan, opts: { names?: string[]; keepDisks?: boolean } = {}): Promise<LabDownResult> {
  const hosts = selectLabHosts(plan, opts.names);
  const whole = isWholeLab(plan, hosts);
  return withLabLock(plan.lockFile, async () => {
    const started = Date.now();
    const r = await mustRun('lab', 'down', labDownScript(plan, hosts, { wipe: !opts.keepDisks }));
    await syncKnownHosts(plan);
    const after = await observeLab(plan, hosts, { ssh: false });
    const left = after.hosts.filter((h) => h.state !== 'down').map((h) => `${h.host}: ${h.problems.join(', ')}`);
    if (whole && after.bridge.up) left.push(`bridge ${plan.bridge} is still up`);
    if (left.length) throw new OperationError(`lab down left things behind:\n  ${left.join('\n  ')}`);
    const killed = parseKilled(r.stdout);
    return {
      hosts: hosts.map((h) => ({ host: h.name, killed: killed.get(h.name) ?? [] })),
      bridge: { name: plan.bridge, removed: whole },
      wiped: !opts.keepDisks,
      durationMs: Date.now() - started,
    };
  });
}
