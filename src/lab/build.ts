// `lab up`: observe, then build only what is missing: the bridge, and every host that is not fully up
// (a half-built host is torn down without touching its disk, then booted again).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { OperationError, UserError } from '../core/errors.js';
import { ensureBase } from './base.js';
import { systemdBootScript, systemdLaunchScript } from './nspawn.js';
import { bootScript, launchScript } from './boot.js';
import { mustRun, runHere, tail } from './exec.js';
import { ensureIdentity, ensureSecrets, syncKnownHosts } from './keys.js';
import { pidAlive, withLabLock } from './lock.js';
import { bridgeUpScript, hostNetworkScript } from './network.js';
import { selectLabHosts, type LabHostPlan, type LabPlan } from './plan.js';
import { observeLab, type LabHostStatus } from './status.js';
import { waitForSsh } from './ssh.js';
import { hostDownScript } from './teardown.js';
import { localConnector } from '../connectors/local.js';

/** What `lab up` did to one host. */
export interface LabUpHost {
  host: string;
  address: string;
  action: 'none' | 'started' | 'rebuilt';
  pid: number;
  was: string[]; // problems seen before (empty when it was up)
}

/** What `lab up` did. */
export interface LabUpResult {
  bridge: { name: string; action: 'none' | 'created' };
  hosts: LabUpHost[];
  knownHostsChanged: boolean;
  durationMs: number;
}

const BOOT_TIMEOUT_MS = 20_000;

/** The pid recorded by a host's boot, or undefined before it wrote one. */
function recordedPid(host: LabHostPlan): number | undefined {
  try {
    return Number(readFileSync(host.pidFile, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/** The base tree when some of the hosts to boot are systemd hosts (built on first use), after checking nspawn is here. */
async function systemdBase(booting: LabHostPlan[], progress?: (line: string) => void): Promise<string | undefined> {
  if (!booting.some((h) => h.flavor === 'systemd')) return undefined;
  const missing = (await runHere('for c in systemd-nspawn debootstrap nsenter; do command -v "$c" >/dev/null || echo "$c"; done')).stdout.trim();
  if (missing)
    throw new UserError(`lab: systemd hosts need ${missing.split('\n').join(', ')}, not found on this machine`, 'apt-get install systemd-container debootstrap util-linux');
  return (await ensureBase({ progress })).dir;
}

/** Boot one host from scratch (its disk is kept): network, boot script, launch, wait for sshd. */
async function bootHost(plan: LabPlan, host: LabHostPlan, before: LabHostStatus, authorizedKey: string, base: string | undefined): Promise<LabUpHost> {
  if (before.state !== 'down') await mustRun(host.name, 'clear the half-built host', hostDownScript(plan, host, { wipe: false }));
  mkdirSync(host.dir, { recursive: true, mode: 0o755 });
  const boot = host.flavor === 'systemd' ? systemdBootScript(plan, host, base!, authorizedKey) : bootScript(plan, host, authorizedKey);
  await localConnector(host.name).put(host.bootFile, boot, 0o700);
  await mustRun(host.name, 'network', hostNetworkScript(plan, host));
  await mustRun(host.name, 'launch', host.flavor === 'systemd' ? systemdLaunchScript(host) : launchScript(host));
  const started = Date.now();
  const booting = async () => {
    const pid = recordedPid(host);
    return pid === undefined ? Date.now() - started < 5000 : pidAlive(pid);
  };
  const ok = await waitForSsh(host.address, host.sshPort, BOOT_TIMEOUT_MS, booting);
  const pid = recordedPid(host);
  if (!ok || pid === undefined) {
    const log = existsSync(host.logFile) ? tail(readFileSync(host.logFile, 'utf8'), 10) : '(no log)';
    throw new OperationError(`lab ${host.name}: did not come up (sshd does not answer on ${host.address}:${host.sshPort})\n  ${host.logFile}:\n  ${log.replace(/\n/g, '\n  ')}`);
  }
  return { host: host.name, address: host.address, action: before.state === 'down' ? 'started' : 'rebuilt', pid, was: before.problems };
}

/** Bring the lab (or the named hosts) up; a second run on a healthy lab changes nothing. */
export async function labUp(plan: LabPlan, names?: string[], opts: { progress?: (line: string) => void } = {}): Promise<LabUpResult> {
  const hosts = selectLabHosts(plan, names);
  return withLabLock(plan.lockFile, async () => {
    const started = Date.now();
    const before = await observeLab(plan, hosts);
    const conflicts = before.hosts.filter((h) => h.state === 'conflict');
    if (conflicts.length) throw new OperationError(`lab: ${conflicts.flatMap((h) => h.problems).join('\n  ')}\n  give this lab's hosts other names`);
    if (!before.bridge.up) await mustRun('lab', `bridge ${plan.bridge}`, bridgeUpScript(plan));
    await ensureSecrets(plan.secretFiles);
    const base = await systemdBase(hosts.filter((_, i) => before.hosts[i]!.state !== 'up'), opts.progress);
    const keys = new Map<string, string>();
    for (const file of new Set(hosts.filter((_, i) => before.hosts[i]!.state !== 'up').map((h) => h.identityFile)))
      keys.set(file, await ensureIdentity(file));
    const results = await Promise.allSettled(
      hosts.map(async (h, i): Promise<LabUpHost> => {
        const status = before.hosts[i]!;
        if (status.state === 'up') return { host: h.name, address: h.address, action: 'none', pid: status.pid!, was: [] };
        return bootHost(plan, h, status, keys.get(h.identityFile)!, base);
      }),
    );
    const knownHostsChanged = await syncKnownHosts(plan);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failed.length) throw failed.length === 1 ? failed[0] : new OperationError(failed.map((e) => e.message).join('\n'));
    return {
      bridge: { name: plan.bridge, action: before.bridge.up ? 'none' : 'created' },
      hosts: results.map((r) => (r as PromiseFulfilledResult<LabUpHost>).value),
      knownHostsChanged,
      durationMs: Date.now() - started,
    };
  });
}
