// Shell text that wires the lab's network: the bridge with the gateway address, one veth pair per host (pure).
import { shq } from '../core/quote.js';
import { intToIpv4, labMac, parseSubnet, type LabHostPlan, type LabPlan } from './plan.js';

/**
 * Create the bridge if missing, give it the gateway address, bring it up (safe to repeat). Refused (exit 3) when
 * another interface already has an address in the lab's subnet: two labs on one subnet would steal each other's routes.
 */
export function bridgeUpScript(plan: LabPlan): string {
  const br = shq(plan.bridge);
  const s = parseSubnet(plan.subnet);
  const subnet = `${intToIpv4(s.network)}/${s.prefixLength}`;
  return [
    `other=$(ip -o -4 addr show to ${subnet} | awk -v br=${br} '$2 != br { print $2 }' | sort -u | tr '\\n' ' ')`,
    `if [ -n "$other" ]; then echo "lab.subnet ${subnet} is already on $other(another lab?): give this lab a subnet of its own" >&2; exit 3; fi`,
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
