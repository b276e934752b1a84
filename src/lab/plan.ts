// The lab's layout, computed from the inventory alone: names, addresses and paths of every lab host (pure).
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Inventory } from '../inventory/types.js';

/**
 * How a lab host is made. `namespace` (the default, fast): namespaces and a chroot with `/` as the lower layer and a
 * small perl init. `systemd`: `systemd-nspawn -b` boots systemd as pid 1 on the cached Debian base tree (base.ts), as
 * on a real server (postgresql@ units, timers, `systemctl`). Chosen per host by the tag `lab-systemd`, or for the whole
 * lab by `lab.flavor: systemd`.
 */
export type LabFlavor = 'namespace' | 'systemd';

/** The host tag that makes a lab host a systemd host. */
export const SYSTEMD_TAG = 'lab-systemd';

/** One lab host: where its network, disk, init and keys live. */
export interface LabHostPlan {
  name: string;
  flavor: LabFlavor;
  address: string;
  sshPort: number;
  netns: string; // network namespace, `<prefix>-<host>` (labPrefix); also the cgroup's and the nspawn machine's name
  link: string; // the bridge side of the host's veth pair (<= 15 characters); shape traffic here with tc
  dir: string; // <state_dir>/hosts/<host>
  upper: string; // overlay upper layer: the host's own files
  work: string; // overlay work directory
  root: string; // overlay mount point, the host's / (mounted only inside the host's mount namespace)
  pidFile: string; // the host's init pid, as this machine sees it
  logFile: string; // boot output, init and sshd log
  bootFile: string; // the generated boot script
  hostKeyPub: string; // the host's ed25519 public key, in its upper layer
  identityFile: string; // private key of the lab (accepted by every host)
  knownHosts: string; // known_hosts file clients use for this host
  cgroup: string; // systemd hosts: the cgroup (under each hierarchy's root) nspawn runs in, `ironclad-lab/<netns>`
}

/** The whole lab: the bridge, its subnet, the state directory and every host. */
export interface LabPlan {
  inventoryFile: string;
  bridge: string;
  subnet: string;
  prefixLength: number;
  gateway: string; // first address of the subnet, on the bridge
  stateDir: string;
  hostsDir: string;
  lockFile: string;
  /** Secret files the inventory names inside the state dir: the lab makes them (random) when missing. */
  secretFiles: string[];
  hosts: LabHostPlan[];
}

/** Prefix of every network namespace and link the lab creates. */
export const LAB_PREFIX = 'icl';

/** The repository's lab bridge (inventory/lab.yaml): its hosts keep the plain names `icl-<host>` (scripts/demo.sh). */
export const DEFAULT_BRIDGE = 'icl0';

const IFNAMSIZ = 15;

/** What a lab bridge may be called: `icl`, then 1 to 6 lowercase letters or digits (no '-': see labPrefix). */
const BRIDGE_NAME = /^icl[a-z0-9]{1,6}$/;

/**
 * The prefix of a lab's namespaces, links, cgroups and nspawn machines: `icl` for the bridge icl0, else the bridge's
 * own name. A bridge is unique on the machine and has no '-', so `<prefix>-<host>` never names two labs' hosts alike
 * (the prefix is everything before the first '-'), even when both labs have a host of the same name.
 */
export function labPrefix(bridge: string): string {
  return bridge === DEFAULT_BRIDGE ? LAB_PREFIX : bridge;
}

/** Parse a dotted IPv4 address to a 32-bit number, or undefined. */
export function ipv4ToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** Format a 32-bit number as a dotted IPv4 address. */
export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Network, prefix length, gateway and broadcast of an IPv4 CIDR; a UserError when malformed. */
export function parseSubnet(cidr: string): { network: number; prefixLength: number; gateway: string; broadcast: number } {
  const [addr, bits] = cidr.split('/');
  const base = ipv4ToInt(addr ?? '');
  const prefixLength = Number(bits);
  if (base === undefined || !/^\d{1,2}$/.test(bits ?? '') || prefixLength < 8 || prefixLength > 30)
    throw new UserError(`lab.subnet '${cidr}' is not an IPv4 subnet`, 'write it as a.b.c.0/24');
  const size = 2 ** (32 - prefixLength);
  const network = base - (base % size);
  return { network, prefixLength, gateway: intToIpv4(network + 1), broadcast: network + size - 1 };
}

/**
 * A fixed, locally administered MAC for an address: a rebuilt host (or bridge) keeps its MAC, so the
 * neighbours' ARP caches stay right and a rebuilt host is reachable at once.
 */
export function labMac(address: string): string {
  const n = ipv4ToInt(address);
  if (n === undefined) throw new Error(`not an IPv4 address: ${address}`);
  return ['02', '1c', ...address.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/** Name of the bridge side of a host's veth pair: `<prefix>-<host>`, shortened with a hash when it would not fit IFNAMSIZ. */
export function linkName(host: string, prefix = LAB_PREFIX): string {
  const plain = `${prefix}-${host}`;
  if (plain.length <= IFNAMSIZ) return plain;
  const hash = createHash('sha256').update(host).digest('hex').slice(0, 4);
  return `${prefix}-${host.slice(0, Math.max(0, IFNAMSIZ - prefix.length - 6))}-${hash}`;
}

/** A host's flavor: the tag `lab-systemd`, else the lab's `flavor`. */
export function hostFlavor(inv: Inventory, host: Inventory['hosts'][number]): LabFlavor {
  if (host.tags.includes(SYSTEMD_TAG)) return 'systemd';
  return inv.lab?.flavor === 'systemd' ? 'systemd' : 'namespace';
}

/** Every way an inventory cannot make a lab, as messages (empty when it can). */
export function labProblems(inv: Inventory): string[] {
  const lab = inv.lab;
  if (!lab) return [`${inv.file} has no 'lab' section (bridge, subnet, state_dir)`];
  const problems: string[] = [];
  if (!BRIDGE_NAME.test(lab.bridge))
    problems.push(
      `lab.bridge '${lab.bridge}' must start with '${LAB_PREFIX}', then 1 to 6 lowercase letters or digits (the lab deletes it on 'down'; ` +
        `it names the lab's namespaces and links, which must fit ${IFNAMSIZ} characters and differ from every other lab's)`,
    );
  if (!lab.state_dir.startsWith('/') || lab.state_dir.split('/').filter(Boolean).length < 2)
    problems.push(`lab.state_dir '${lab.state_dir}' must be an absolute path at least two levels deep (the lab removes files under it)`);
  let subnet;
  try {
    subnet = parseSubnet(lab.subnet);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const links = new Map<string, string>();
  for (const h of inv.hosts) {
    const a = ipv4ToInt(h.address);
    if (a === undefined) problems.push(`hosts.${h.name}.address '${h.address}' is not an IPv4 address`);
    else if (subnet && (a <= subnet.network + 1 || a >= subnet.broadcast || a - (a % 2 ** (32 - subnet.prefixLength)) !== subnet.network))
      problems.push(`hosts.${h.name}.address ${h.address} is not a host address of lab.subnet ${lab.subnet} (the first one is the bridge's)`);
    const link = linkName(h.name, labPrefix(lab.bridge));
    const other = links.get(link);
    if (other) problems.push(`hosts ${other} and ${h.name} would share the link name ${link}; rename one`);
    links.set(link, h.name);
  }
  return problems;
}

/** The lab of an inventory; a UserError listing every problem when it cannot make one. */
export function planLab(inv: Inventory): LabPlan {
  const problems = labProblems(inv);
  if (problems.length) throw new UserError(problems.join('\n'), 'fix the lab inventory (see inventory/lab.yaml)');
  const lab = inv.lab!;
  const { prefixLength, gateway } = parseSubnet(lab.subnet);
  const stateDir = lab.state_dir.replace(/\/+$/, '');
  const hostsDir = join(stateDir, 'hosts');
  const prefix = labPrefix(lab.bridge);
  return {
    inventoryFile: inv.file,
    bridge: lab.bridge,
    subnet: lab.subnet,
    prefixLength,
    gateway,
    stateDir,
    hostsDir,
    lockFile: join(stateDir, 'lab.lock'),
    secretFiles: [...new Set(inv.hosts.flatMap((h) => (h.postgres?.roles ?? []).flatMap((r) => (r.password && 'file' in r.password ? [resolve(inv.dir, r.password.file)] : []))))].filter((f) => f.startsWith(`${stateDir}/`)),
    hosts: inv.hosts.map((h) => {
      const dir = join(hostsDir, h.name);
      const upper = join(dir, 'upper');
      return {
        name: h.name,
        flavor: hostFlavor(inv, h),
        address: h.address,
        sshPort: h.ssh.port,
        netns: `${prefix}-${h.name}`,
        link: linkName(h.name, prefix),
        dir,
        upper,
        work: join(dir, 'work'),
        root: join(dir, 'root'),
        pidFile: join(dir, 'init.pid'),
        logFile: join(dir, 'boot.log'),
        bootFile: join(dir, 'boot.sh'),
        hostKeyPub: join(upper, 'etc/ssh/ssh_host_ed25519_key.pub'),
        identityFile: h.ssh.identity_file,
        knownHosts: h.ssh.known_hosts,
        cgroup: `ironclad-lab/${prefix}-${h.name}`,
      };
    }),
  };
}

/** The hosts named by --limit (all when none); an unknown name is a UserError. */
export function selectLabHosts(plan: LabPlan, names?: string[]): LabHostPlan[] {
  if (!names?.length) return plan.hosts;
  const unknown = names.filter((n) => !plan.hosts.some((h) => h.name === n));
  if (unknown.length)
    throw new UserError(`unknown lab host${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, `lab hosts: ${plan.hosts.map((h) => h.name).join(', ')}`);
  return plan.hosts.filter((h) => names.includes(h.name));
}

/** True when the selection is the whole lab (then the bridge and shared files come and go with it). */
export function isWholeLab(plan: LabPlan, hosts: LabHostPlan[]): boolean {
  return hosts.length === plan.hosts.length;
}
