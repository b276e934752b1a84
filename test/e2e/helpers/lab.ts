// End-to-end tests' access to the lab: bring it up once for a test file, tear it down after (also on failure,
// exit and signals), and run commands on lab hosts over real ssh with strict host-key checking.
//
//   const lab = await withLab(t);                 // t: the file's top-level tap test
//   const out = await lab.sshOk('db-prod', 'pg_lsclusters -h');
//
// Several test processes may share the lab: each holds a lease (<state_dir>/leases/<pid>) and the last one out
// takes the lab down. Needs root on Linux; `labUnavailable()` says why not, for t.skip.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../../../src/connectors/types.js';
import { loadInventory } from '../../../src/inventory/load.js';
import type { Inventory } from '../../../src/inventory/types.js';
import { labUp, type LabUpResult } from '../../../src/lab/build.js';
import { labDown } from '../../../src/lab/down.js';
import { labStepError, runHere } from '../../../src/lab/exec.js';
import { pidAlive } from '../../../src/lab/lock.js';
import { planLab, type LabHostPlan, type LabPlan } from '../../../src/lab/plan.js';
import { sshCommand } from '../../../src/lab/ssh.js';
import { labDownScript } from '../../../src/lab/teardown.js';
import { slotFile } from './slot.js';

export { LAB_SLOT, labAddress, reText, slotFile, slotText } from './slot.js';

/** The lab inventory of the repository (inventory/lab.yaml), as this process's lab slot has it. */
export const LAB_INVENTORY = slotFile(fileURLToPath(new URL('../../../inventory/lab.yaml', import.meta.url)));

/** The systemd lab inventory of the repository (inventory/lab-systemd.yaml, hosts booted by systemd-nspawn), in this slot. */
export const SYSTEMD_LAB_INVENTORY = slotFile(fileURLToPath(new URL('../../../inventory/lab-systemd.yaml', import.meta.url)));

/** What a test gets: the inventory, the lab's layout, and ssh to its hosts. */
export interface LabHandle {
  inventoryFile: string;
  inventory: Inventory;
  plan: LabPlan;
  /** What `lab up` did for this test file (actions per host, duration). */
  up: LabUpResult;
  /** A host's layout: address, netns (`ip netns exec`), link (for `tc`), dirs, key files. Throws for unknown names. */
  host(name: string): LabHostPlan;
  /** Run a script on a host over ssh (as root unless `user`); the result whatever the exit code. */
  ssh(host: string, script: string, opts?: { stdin?: string; user?: string }): Promise<RunResult>;
  /** Run a script on a host over ssh; its stdout, or an OperationError naming host, command and stderr. */
  sshOk(host: string, script: string, opts?: { stdin?: string; user?: string }): Promise<string>;
}

/** Anything with tap's teardown (a tap Test). */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** Why the lab cannot run here (not Linux, not root), or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux';
  if (process.getuid?.() !== 0) return 'the lab needs root';
  return undefined;
}

interface Held {
  plan: LabPlan;
  users: number;
}

const held = new Map<string, Held>(); // by state_dir: labs this process uses

function leaseDir(plan: LabPlan): string {
  return join(plan.stateDir, 'leases');
}

/** Pids of other live processes holding a lease on this lab; stale leases are removed. */
export function otherLeases(plan: LabPlan): number[] {
  let names: string[];
  try {
    names = readdirSync(leaseDir(plan));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (pid && pidAlive(pid)) live.push(pid);
    else rmSync(join(leaseDir(plan), name), { force: true });
  }
  return live;
}

function takeLease(plan: LabPlan): void {
  mkdirSync(leaseDir(plan), { recursive: true, mode: 0o700 });
  writeFileSync(join(leaseDir(plan), String(process.pid)), `${process.pid}\n`);
}

/** Drop one use (or, at exit, every use) of a lab by this process; the lab when nobody holds it any more (take it down). */
function dropUse(stateDir: string, everything = false): Held | undefined {
  const h = held.get(stateDir);
  if (!h) return undefined;
  h.users = everything ? 0 : h.users - 1;
  if (h.users > 0) return undefined;
  held.delete(stateDir);
  rmSync(join(leaseDir(h.plan), String(process.pid)), { force: true });
  return otherLeases(h.plan).length === 0 ? h : undefined;
}

/** Last resort when the process exits or is killed: the same teardown script, run synchronously. */
function teardownAllSync(): void {
  for (const stateDir of [...held.keys()]) {
    const last = dropUse(stateDir, true);
    if (last) spawnSync('sh', ['-c', labDownScript(last.plan, last.plan.hosts, { wipe: true })], { stdio: 'ignore' });
  }
}

let hooked = false;
function hookProcessExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', teardownAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      teardownAllSync();
      process.exit(128 + constants.signals[signal]);
    });
}

/**
 * Bring the lab up (idempotent: quick when it already is) and register its teardown on `t`: when the
 * test ends, passed or failed, the lab goes down unless another test process still holds it.
 */
export async function withLab(t: Teardownable, opts: { inventoryFile?: string } = {}): Promise<LabHandle> {
  const inventoryFile = opts.inventoryFile ?? LAB_INVENTORY;
  const inventory = loadInventory(inventoryFile);
  const plan = planLab(inventory);
  const h = held.get(plan.stateDir) ?? { plan, users: 0 };
  h.users++;
  held.set(plan.stateDir, h);
  hookProcessExit();
  takeLease(plan);
  t.teardown(async () => {
    const last = dropUse(plan.stateDir);
    if (last) await labDown(last.plan);
  });
  const up = await labUp(plan);
  const host = (name: string): LabHostPlan => {
    const found = plan.hosts.find((x) => x.name === name);
    if (!found) throw new Error(`no lab host '${name}' (lab hosts: ${plan.hosts.map((x) => x.name).join(', ')})`);
    return found;
  };
  const ssh = (name: string, script: string, o: { stdin?: string; user?: string } = {}) => runHere(sshCommand(host(name), script, o.user), o.stdin);
  return {
    inventoryFile,
    inventory,
    plan,
    up,
    host,
    ssh,
    async sshOk(name, script, o) {
      const r = await ssh(name, script, o);
      if (r.code !== 0) throw labStepError(name, 'ssh', r);
      return r.stdout;
    },
  };
}
