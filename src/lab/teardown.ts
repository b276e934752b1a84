// Shell text that stops lab hosts and removes what they used (pure). Kills only the recorded init pid, after
// checking it still lives in the host's network namespace, then whatever is left inside that namespace.
import { shq } from '../core/quote.js';
import { bridgeDownScript } from './network.js';
import { cgroupDownScript, nspawnPropagateDir } from './nspawn.js';
import type { LabHostPlan, LabPlan } from './plan.js';

/** Options of a teardown: `wipe` also removes the host's disk (its upper layer) and keys. */
export interface TeardownOptions {
  wipe: boolean;
}

/**
 * Stop one host: its init (verified by namespace), leftovers in its netns, the netns, the veth, stray mounts.
 * A host whose link sits on another bridge belongs to another lab with the same host name: left alone.
 */
export function hostDownScript(plan: LabPlan, host: LabHostPlan, opts: TeardownOptions): string {
  const ns = shq(host.netns);
  const pidFile = shq(host.pidFile);
  const link = shq(host.link);
  const body = [
    `if [ -s ${pidFile} ]; then`,
    `  pid=$(cat ${pidFile})`,
    `  case "$pid" in ''|*[!0-9]*) ;; *)`,
    `    if [ "$(ip netns identify "$pid" 2>/dev/null)" = ${ns} ]; then kill -KILL "$pid" 2>/dev/null && echo "killed ${host.name} $pid"; fi ;;`,
    '  esac',
    'fi',
    `if [ -e /run/netns/${host.netns} ]; then`,
    '  i=0',
    `  while pids=$(ip netns pids ${ns} 2>/dev/null) && [ -n "$pids" ] && [ "$i" -lt 100 ]; do`,
    '    echo "$pids" | xargs -r kill -KILL 2>/dev/null || true; sleep 0.05; i=$((i + 1))',
    '  done',
    `  ip netns del ${ns}`,
    'fi',
    `if ip link show dev ${link} >/dev/null 2>&1; then ip link del dev ${link}; fi`,
    `awk -v d=${shq(host.dir + '/')} 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done`,
    ...(host.flavor === 'systemd' ? [cgroupDownScript(host), `rm -f ${shq(`${host.dir}/nspawn.pid`)}`, `rm -rf --one-file-system ${shq(nspawnPropagateDir(host))}`] : []),
    `rm -f ${pidFile}`,
    ...(opts.wipe ? [`rm -rf --one-file-system ${shq(host.dir)}`] : []),
  ];
  return [
    `# stop lab host ${host.name}`,
    `master=$(ip -o link show dev ${link} 2>/dev/null | sed -n 's/.* master \\([^ ]*\\) .*/\\1/p')`,
    `if [ -n "$master" ] && [ "$master" != ${shq(plan.bridge)} ]; then`,
    `  echo "foreign ${host.name} $master"`,
    'else',
    ...body.map((l) => `  ${l}`),
    'fi',
  ].join('\n');
}

/** Stop the given hosts; for the whole lab also remove the bridge (and, when wiping, the hosts directory and known_hosts). */
export function labDownScript(plan: LabPlan, hosts: LabHostPlan[], opts: TeardownOptions): string {
  const parts = ['set -u', ...hosts.map((h) => hostDownScript(plan, h, opts))];
  if (hosts.length === plan.hosts.length) {
    parts.push(bridgeDownScript(plan));
    if (opts.wipe) parts.push(`rm -rf --one-file-system ${shq(plan.hostsDir)}`, `rm -f ${[...new Set(plan.hosts.map((h) => shq(h.knownHosts)))].join(' ')}`);
  }
  return parts.join('\n') + '\n';
}
