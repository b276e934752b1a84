// Observe the lab: run the probe, knock on sshd of hosts whose init lives, and give a verdict per host.
import { mustRun } from './exec.js';
import type { LabHostPlan, LabPlan } from './plan.js';
import { assessHost, bridgeHealthy, liveInit, parseProbe, probeScript, type HostState } from './probe.js';
import { sshAnswers } from './ssh.js';

/** One host as `lab status` reports it. */
export interface LabHostStatus {
  host: string;
  address: string;
  /** How the host is made (namespace, systemd); absent in reports made before flavors existed. */
  flavor?: LabHostPlan['flavor'];
  state: HostState;
  pid: number | null;
  ssh: boolean;
  netns: string;
  link: string;
  problems: string[];
}

/** The lab as `lab status` reports it. */
export interface LabStatus {
  bridge: { name: string; subnet: string; gateway: string; up: boolean };
  hosts: LabHostStatus[];
}

/** Observe the bridge and the given hosts; `ssh: false` skips the sshd check (then no host counts as up). */
export async function observeLab(plan: LabPlan, hosts: LabHostPlan[], opts: { ssh: boolean } = { ssh: true }): Promise<LabStatus> {
  const probe = parseProbe((await mustRun('lab', 'probe', probeScript(plan, hosts))).stdout);
  const bridgeUp = bridgeHealthy(plan, probe);
  const statuses = await Promise.all(
    hosts.map(async (h): Promise<LabHostStatus> => {
      const p = probe.hosts[h.name];
      // Only a live init behind a working bridge can answer; knocking elsewhere would only wait for a timeout.
      const ssh = opts.ssh && bridgeUp && p !== undefined && liveInit(h, p) !== null && (await sshAnswers(h.address, h.sshPort, 3000));
      const health = assessHost(plan, h, p, ssh);
      return { host: h.name, address: h.address, flavor: h.flavor, state: health.state, pid: health.pid, ssh, netns: h.netns, link: h.link, problems: health.problems };
    }),
  );
  return {
    bridge: { name: plan.bridge, subnet: plan.subnet, gateway: plan.gateway, up: bridgeUp },
    hosts: statuses,
  };
}
