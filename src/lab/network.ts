// Shell text that wires the lab's network: the bridge with the gateway address, one veth pair per host (pure).
import { shq } from '../core/quote.js';
import { labMac, type LabHostPlan, type LabPlan } from './plan.js';

/** Create the bridge if missing, give it the gateway address, bring it up (safe to repeat). */
export function bridgeUpScript(plan: LabPlan): string {
  const br = shq(plan.bridge);
  return [
    `ip link show dev ${br} >/dev/null 2>&1 || ip link add name ${br} address ${labMac(plan.gateway)} type bridge`,
    `ip addr replace ${plan.gateway}/${plan.prefixLength} dev ${br}`,
    `ip link set dev ${br} up`,
  ].join('\n');
}

/** Remove the bridge if present. */
export function bridgeDownScript(plan: LabPlan): string {
  const br = shq(plan.bridge);
  return `if ip link show dev ${br} >/dev/null 2>&1; then ip link del dev ${br}; fi`;
}

/** A fresh network namespace for a host: veth to the bridge, its address on eth0, lo up, default route via the gateway. */
export function hostNetworkScript(plan: LabPlan, host: LabHostPlan): string {
  const ns = shq(host.netns);
  const link = shq(host.link);
  return [
    `ip netns add ${ns}`,
    `ip link add name ${link} type veth peer name eth0 address ${labMac(host.address)} netns ${ns}`,
    `ip link set dev ${link} master ${shq(plan.bridge)} up`,
    `ip -n ${ns} addr add ${host.address}/${plan.prefixLength} dev eth0`,
    `ip -n ${ns} link set dev lo up`,
    `ip -n ${ns} link set dev eth0 up`,
    `ip -n ${ns} route add default via ${plan.gateway}`,
  ].join('\n');
}
