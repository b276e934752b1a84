// What the lab looks like right now: one read-only shell script, a pure parser of its output, and the verdict per host.
import { shq } from '../core/quote.js';
import type { LabHostPlan, LabPlan } from './plan.js';

/** Raw observations of one host (from the probe script). */
export interface HostProbe {
  netns: boolean;
  link?: string; // `ip -o link show` line of the bridge-side veth
  address?: string; // eth0's IPv4 address/prefix inside the netns
  route?: string; // the default route inside the netns
  pid?: number; // recorded init pid
  pidNetns?: string; // the netns that pid lives in, when it is alive
  nsPids?: number[]; // that pid as each nested pid namespace sees it
}

/** Raw observations of the lab: the bridge and every probed host. */
export interface LabProbe {
  bridgeLink?: string;
  bridgeAddresses: string[];
  hosts: Record<string, HostProbe>;
}

/**
 * A host's state: `up` (everything there and sshd answers), `down` (nothing there), `degraded` (something in
 * between), `conflict` (its link name is on another bridge: another lab on this machine uses the same host name).
 */
export type HostState = 'up' | 'down' | 'degraded' | 'conflict';

/** The verdict on one host. */
export interface HostHealth {
  state: HostState;
  pid: number | null; // the live init's pid, null when there is none
  problems: string[];
}

/** The read-only script that observes the bridge and the given hosts (one process for the whole lab). */
export function probeScript(plan: LabPlan, hosts: LabHostPlan[]): string {
  const lines = [
    'echo "@bridge"',
    `ip -o link show dev ${shq(plan.bridge)} 2>/dev/null | sed 's/^/link=/'`,
    `ip -o -4 addr show dev ${shq(plan.bridge)} 2>/dev/null | awk '{ print "addr=" $4 }'`,
  ];
  for (const h of hosts) {
    const ns = shq(h.netns);
    lines.push(
      `echo ${shq(`@host ${h.name}`)}`,
      `if [ -e /run/netns/${h.netns} ]; then`,
      '  echo netns=1',
      `  ip -n ${ns} -o -4 addr show dev eth0 2>/dev/null | awk '{ print "addr=" $4; exit }'`,
      `  ip -n ${ns} -4 route show default 2>/dev/null | sed -n '1s/^/route=/p'`,
      'fi',
      `ip -o link show dev ${shq(h.link)} 2>/dev/null | sed 's/^/link=/'`,
      `pid=$(cat ${shq(h.pidFile)} 2>/dev/null || true)`,
      'case "$pid" in ""|*[!0-9]*) ;; *)',
      '  echo "pid=$pid"',
      '  if [ -d "/proc/$pid" ]; then',
      '    echo "pid_netns=$(ip netns identify "$pid" 2>/dev/null)"',
      `    sed -n 's/^NSpid:[[:space:]]*/nspid=/p' "/proc/$pid/status" 2>/dev/null`,
      '  fi ;;',
      'esac',
    );
  }
  return lines.join('\n') + '\n';
}

/** Parse the probe script's output. */
export function parseProbe(stdout: string): LabProbe {
  const probe: LabProbe = { bridgeAddresses: [], hosts: {} };
  let host: HostProbe | undefined;
  for (const line of stdout.split('\n')) {
    if (line === '@bridge') {
      host = undefined;
      continue;
    }
    if (line.startsWith('@host ')) {
      host = probe.hosts[line.slice(6)] = { netns: false };
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    if (!host) {
      if (key === 'link') probe.bridgeLink = value;
      else if (key === 'addr') probe.bridgeAddresses.push(value);
      continue;
    }
    switch (key) {
      case 'netns':
        host.netns = true;
        break;
      case 'link':
        host.link = value;
        break;
      case 'addr':
        host.address = value;
        break;
      case 'route':
        host.route = value;
        break;
      case 'pid':
        host.pid = Number(value);
        break;
      case 'pid_netns':
        host.pidNetns = value;
        break;
      case 'nspid':
        host.nsPids = value.split(/\s+/).map(Number);
        break;
    }
  }
  return probe;
}

/** The flags of an `ip -o link show` line (`UP`, `LOWER_UP`, ...) and its master, if any. */
export function parseLinkLine(line: string): { flags: string[]; master?: string } {
  const flags = /<([^>]*)>/.exec(line)?.[1]?.split(',') ?? [];
  const master = /\smaster\s+(\S+)/.exec(line)?.[1];
  return { flags, master };
}

/** True when the bridge exists, is up and carries the gateway address. */
export function bridgeHealthy(plan: LabPlan, probe: LabProbe): boolean {
  if (!probe.bridgeLink) return false;
  return parseLinkLine(probe.bridgeLink).flags.includes('UP') && probe.bridgeAddresses.includes(`${plan.gateway}/${plan.prefixLength}`);
}

/** The live init of a host: the recorded pid, alive, in the host's netns and pid 1 of its own pid namespace. */
export function liveInit(host: LabHostPlan, p: HostProbe): number | null {
  if (p.pid === undefined || p.pidNetns !== host.netns || !p.nsPids) return null;
  return p.nsPids.length >= 2 && p.nsPids[p.nsPids.length - 1] === 1 ? p.pid : null;
}

/** Verdict on one host from its observations and whether sshd answered on its address. */
export function assessHost(plan: LabPlan, host: LabHostPlan, p: HostProbe | undefined, sshAnswers: boolean): HostHealth {
  const probe = p ?? { netns: false };
  const pid = liveInit(host, probe);
  const problems: string[] = [];
  const link = probe.link ? parseLinkLine(probe.link) : undefined;
  if (link?.master && link.master !== plan.bridge)
    return { state: 'conflict', pid: null, problems: [`link ${host.link} is on bridge ${link.master}, not ${plan.bridge}: another lab uses the host name ${host.name}`] };
  if (!probe.netns) problems.push(`no network namespace ${host.netns}`);
  else {
    if (probe.address !== `${host.address}/${plan.prefixLength}`) problems.push(`eth0 does not have ${host.address}/${plan.prefixLength}`);
    if (!probe.route?.includes(`via ${plan.gateway}`)) problems.push(`no default route via ${plan.gateway}`);
  }
  if (!link) problems.push(`no link ${host.link}`);
  else if (link.master !== plan.bridge || !link.flags.includes('UP')) problems.push(`link ${host.link} is not up on bridge ${plan.bridge}`);
  if (pid === null) problems.push('init is not running');
  if (!sshAnswers) problems.push(`sshd does not answer on ${host.address}:${host.sshPort}`);
  const nothingLeft = !probe.netns && !link && pid === null && !sshAnswers;
  return { state: problems.length === 0 ? 'up' : nothingLeft ? 'down' : 'degraded', pid, problems };
}
