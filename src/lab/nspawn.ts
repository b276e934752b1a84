// Systemd lab hosts (pure): `systemd-nspawn -b` boots systemd as pid 1 on an overlay of the cached base tree, in the
// host's network namespace (the same netns, veth and address as a namespace host: the probe and teardown see both
// flavors alike). Facts that shape this, found on machines whose pid 1 is not systemd and that have no D-Bus:
// - nspawn must not register with machined nor ask for a scope (`--register=no --keep-unit`), and then needs a
//   cgroup of its own to put the container in: without one it fails (`Failed to open system bus`/`Parent died too early`);
// - `ip netns exec` remounts /sys, which hides the cgroup hierarchies from nspawn (`Failed to determine whether the
//   unified cgroups hierarchy is used`): the network namespace is entered with `nsenter --net` instead;
// - nspawn without --private-network keeps the netns it was started in, so the address set from outside stays
//   (no networkd inside; Debian does not enable it).
import { shq } from '../core/quote.js';
import { CLOSE_FDS, FIRST_BOOT_MARKER, LAB_PATH, writeFileScript } from './boot.js';
import { etcHosts, sshdDropIn } from './files.js';
import type { LabHostPlan, LabPlan } from './plan.js';

/** Shell text setting `$@` to the cgroup hierarchies' roots: /sys/fs/cgroup on cgroup v2, else the named systemd and unified ones. */
export const CGROUP_ROOTS = [
  'if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then set -- /sys/fs/cgroup',
  'else set --; for r in systemd unified; do if [ -e "/sys/fs/cgroup/$r/cgroup.procs" ]; then set -- "$@" "/sys/fs/cgroup/$r"; fi; done; fi',
].join('\n');

/** File next to the host's pid file where the nspawn process's pid is kept. */
export function nspawnPidFile(host: LabHostPlan): string {
  return `${host.dir}/nspawn.pid`;
}

/** Directory nspawn keeps for a machine on this machine, named by the machine alone (left behind when nspawn is killed). */
export function nspawnPropagateDir(host: LabHostPlan): string {
  return `/run/systemd/nspawn/propagate/${host.netns}`;
}

/**
 * The nspawn command line booting a host on its mounted root. The machine is named after the host's netns, unique on
 * this machine (nspawn keys state such as /run/systemd/nspawn/propagate/MACHINE by it), the hostname is the host's.
 */
export function nspawnCommand(host: LabHostPlan): string {
  return [
    'systemd-nspawn --boot',
    `--directory=${shq(host.root)}`,
    `--machine=${shq(host.netns)} --hostname=${shq(host.name)}`,
    '--register=no --keep-unit',
    '--console=passive --link-journal=no --resolv-conf=off --timezone=off',
  ].join(' ');
}

/**
 * The boot script of a systemd host; runs on this machine in the host's netns and a private mount namespace.
 * Mounts the overlay (base tree below, the host's disk above), gives a new host its identity, writes the lab's files,
 * starts nspawn in the host's cgroup, records the container's pid 1 as the host's init, and waits for nspawn.
 */
export function systemdBootScript(plan: LabPlan, host: LabHostPlan, base: string, authorizedKey: string): string {
  const r = (p: string) => shq(`${host.root}${p}`);
  const cgroups = `"$@"`;
  return [
    `# boot of systemd lab host ${host.name}, written by ironclad lab up (base ${base})`,
    'set -eu',
    'umask 022',
    `export PATH=${LAB_PATH}`,
    `mkdir -p ${shq(host.upper)} ${shq(host.work)} ${shq(host.root)}`,
    `mount -t overlay overlay -o ${shq(`lowerdir=${base},upperdir=${host.upper},workdir=${host.work}`)} ${shq(host.root)}`,
    `if [ ! -e ${r(FIRST_BOOT_MARKER)} ]; then`,
    `  ssh-keygen -q -t ed25519 -N '' -C ${shq(`root@${host.name}`)} -f ${r('/etc/ssh/ssh_host_ed25519_key')}`,
    `  tr -d '-' < /proc/sys/kernel/random/uuid > ${r('/etc/machine-id')}`,
    `  mkdir -p ${r('/etc/ironclad-lab')} && echo ${shq(host.name)} > ${r(FIRST_BOOT_MARKER)}`,
    'fi',
    writeFileScript(`${host.root}/etc/hostname`, `${host.name}\n`, '644'),
    writeFileScript(`${host.root}/etc/hosts`, etcHosts(plan), '644'),
    `mkdir -p ${r('/etc/ssh/sshd_config.d')}`,
    writeFileScript(`${host.root}/etc/ssh/sshd_config.d/ironclad-lab.conf`, sshdDropIn(host), '644'),
    `mkdir -p -m 700 ${r('/root/.ssh')}`,
    writeFileScript(`${host.root}/root/.ssh/authorized_keys`, authorizedKey.trim() + '\n', '600'),
    '# nspawn in a cgroup of its own under every hierarchy (it makes payload/ and supervisor/ below it)',
    CGROUP_ROOTS,
    `for d in ${cgroups}; do mkdir -p "$d/${host.cgroup}"; done`,
    `/bin/sh -c 'for d in "$@"; do echo $$ > "$d/${host.cgroup}/cgroup.procs"; done; exec ${nspawnCommand(host).replace(/'/g, `'\\''`)}' sh ${cgroups} &`,
    'nspawn=$!',
    `echo "$nspawn" > ${shq(nspawnPidFile(host))}`,
    '# the host\'s init is pid 1 of the container\'s pid namespace; this machine\'s pid of it is the host\'s pid',
    'i=0',
    'while [ "$i" -lt 400 ] && kill -0 "$nspawn" 2>/dev/null; do',
    `  for p in $(ip netns pids ${shq(host.netns)} 2>/dev/null); do`,
    `    if awk '/^NSpid:/ { exit !(NF == 3 && $3 == 1) }' "/proc/$p/status" 2>/dev/null; then echo "$p" > ${shq(host.pidFile)}; i=400; break; fi`,
    '  done',
    '  [ "$i" -ge 400 ] || sleep 0.05',
    '  i=$((i + 1))',
    'done',
    'wait "$nspawn"',
    '',
  ].join('\n');
}

/** Start a systemd host's boot detached from the caller: its own session, no inherited environment, the host's netns, private mounts. */
export function systemdLaunchScript(host: LabHostPlan): string {
  return (
    `setsid -f env -i PATH=${LAB_PATH} nsenter --net=${shq(`/run/netns/${host.netns}`)} ` +
    `unshare --mount --propagation private /bin/sh ${shq(host.bootFile)} </dev/null >>${shq(host.logFile)} 2>&1 ${CLOSE_FDS}`
  );
}

/**
 * Remove a systemd host's cgroup under every hierarchy: kill by pid whatever is still listed in it (normally
 * nothing: the host's processes died with its init and netns), then remove its directories, deepest first.
 */
export function cgroupDownScript(host: LabHostPlan): string {
  return [
    CGROUP_ROOTS,
    'for root in "$@"; do',
    `  d="$root/${host.cgroup}"`,
    '  [ -d "$d" ] || continue',
    '  i=0',
    `  while pids=$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null) && [ -n "$pids" ] && [ "$i" -lt 100 ]; do`,
    '    echo "$pids" | xargs -r kill -KILL 2>/dev/null || true; sleep 0.05; i=$((i + 1))',
    '  done',
    '  find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true',
    `  rmdir "$root/${host.cgroup.split('/')[0]}" 2>/dev/null || true`,
    '  if [ -d "$d" ]; then echo "cgroup $d is left" >&2; fi',
    'done',
  ].join('\n');
}
