// The boot script of a lab host (pure): runs as pid 1 of fresh pid/uts/mount/ipc namespaces inside the host's
// network namespace, mounts its copy-on-write root, prepares it, then chroots and execs the init.
import { shq } from '../core/quote.js';
import { etcHosts, INIT_PATH, initProgram, sshdDropIn } from './files.js';
import type { LabHostPlan, LabPlan } from './plan.js';

/** PATH given to everything the lab starts (the caller's environment is never passed in). */
export const LAB_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Marker in a host's own /etc saying its first boot is done (the inherited cluster and keys are gone). */
export const FIRST_BOOT_MARKER = '/etc/ironclad-lab/host';

/** `cat > FILE` of a literal text, through a quoted here-document (no expansion). */
export function writeFileScript(path: string, content: string, mode: string): string {
  const tag = 'ICL_EOF';
  if (content.split('\n').includes(tag)) throw new Error(`content for ${path} contains the here-document tag`);
  return `cat > ${shq(path)} <<'${tag}'\n${content}${content.endsWith('\n') ? '' : '\n'}${tag}\nchmod ${mode} ${shq(path)}`;
}

/** Device nodes of a lab host's minimal /dev: name, major, minor. */
const devices: [string, number, number][] = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];

/** The whole boot script of one host; `authorizedKey` is the lab's public key. */
export function bootScript(plan: LabPlan, host: LabHostPlan, authorizedKey: string): string {
  const r = (p: string) => shq(`${host.root}${p}`);
  return [
    `# boot of lab host ${host.name}, written by ironclad lab up; runs as pid 1 of its own namespaces`,
    'set -eu',
    'umask 022',
    `export PATH=${LAB_PATH}`,
    '# this machine\'s pid of this init (our /proc is still the machine\'s one)',
    `read -r outer _ < /proc/self/stat && echo "$outer" > ${shq(host.pidFile)}`,
    `hostname ${shq(host.name)}`,
    `mkdir -p ${shq(host.upper)} ${shq(host.work)} ${shq(host.root)}`,
    `mount -t overlay overlay -o ${shq(`lowerdir=/,upperdir=${host.upper},workdir=${host.work}`)} ${shq(host.root)}`,
    `mount -t proc -o nosuid,nodev,noexec proc ${r('/proc')}`,
    `mount -t sysfs -o ro,nosuid,nodev,noexec sysfs ${r('/sys')}`,
    `mount -t tmpfs -o mode=755,size=1m,nosuid,noexec tmpfs ${r('/dev')}`,
    ...devices.map(([n, major, minor]) => `mknod -m 666 ${r(`/dev/${n}`)} c ${major} ${minor}`),
    `mkdir ${r('/dev/pts')} ${r('/dev/shm')}`,
    `mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts ${r('/dev/pts')}`,
    `ln -s pts/ptmx ${r('/dev/ptmx')} && ln -s /proc/self/fd ${r('/dev/fd')}`,
    ...['stdin', 'stdout', 'stderr'].map((n, fd) => `ln -s /proc/self/fd/${fd} ${r(`/dev/${n}`)}`),
    `mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs ${r('/dev/shm')}`,
    `mount -t tmpfs -o mode=755,nosuid,nodev tmpfs ${r('/run')}`,
    `mkdir -p ${r('/run/sshd')} ${r('/run/lock')} && chmod 1777 ${r('/run/lock')}`,
    `if chroot ${shq(host.root)} id postgres >/dev/null 2>&1; then`,
    `  mkdir -m 2775 ${r('/run/postgresql')} && chroot ${shq(host.root)} chown postgres:postgres /run/postgresql`,
    'fi',
    `# first boot: a fresh host has no Postgres cluster and its own identity (the machine's are inherited below)`,
    `if [ ! -e ${r(FIRST_BOOT_MARKER)} ]; then`,
    `  rm -rf ${r('/etc/postgresql')}/*/* ${r('/var/lib/postgresql')}/*/*`,
    `  rm -f ${r('/etc/ssh')}/ssh_host_*`,
    `  # a new server's root has the skeleton shell files, not this machine's setup (pyenv init slows every ssh)`,
    `  cp ${r('/etc/skel/.bashrc')} ${r('/etc/skel/.profile')} ${r('/root')}/`,
    `  ssh-keygen -q -t ed25519 -N '' -C ${shq(`root@${host.name}`)} -f ${r('/etc/ssh/ssh_host_ed25519_key')}`,
    `  tr -d '-' < /proc/sys/kernel/random/uuid > ${r('/etc/machine-id')}`,
    `  mkdir -p ${r('/etc/ironclad-lab')} && echo ${shq(host.name)} > ${r(FIRST_BOOT_MARKER)}`,
    'fi',
    writeFileScript(`${host.root}/etc/hostname`, `${host.name}\n`, '644'),
    writeFileScript(`${host.root}/etc/hosts`, etcHosts(plan), '644'),
    `mkdir -p ${r('/etc/ssh/sshd_config.d')}`,
    writeFileScript(`${host.root}/etc/ssh/sshd_config.d/ironclad-lab.conf`, sshdDropIn(host), '644'),
    `mkdir -p ${r('/root/.ssh')} && chmod 700 ${r('/root/.ssh')}`,
    writeFileScript(`${host.root}/root/.ssh/authorized_keys`, authorizedKey.trim() + '\n', '600'),
    `mkdir -p ${r('/usr/local/sbin')}`,
    writeFileScript(`${host.root}${INIT_PATH}`, initProgram(), '755'),
    '# the lab\'s own files (its key, the other hosts\' disks) are not this host\'s business',
    `if [ -d ${r(plan.stateDir)} ]; then mount -t tmpfs -o ro,size=4k,mode=755 tmpfs ${r(plan.stateDir)}; fi`,
    `cd ${shq(host.root)}`,
    `exec chroot ${shq(host.root)} env -i PATH=${LAB_PATH} HOME=/root LANG=C.UTF-8 /usr/bin/perl ${INIT_PATH}`,
    '',
  ].join('\n');
}

/** Redirections closing descriptors 3-9 (what sh can name): a lab host must not keep its caller's files open. */
export const CLOSE_FDS = '3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-';

/**
 * Start a host's boot detached from the caller: its own session, the caller's environment dropped,
 * in the host's network namespace and fresh pid/uts/mount/ipc namespaces (mounts stay private to it), without the
 * caller's descriptors beyond stdio (a host outlives its caller and must not hold, say, the caller's `flock` lock).
 */
export function launchScript(host: LabHostPlan): string {
  return (
    `setsid -f env -i PATH=${LAB_PATH} ip netns exec ${shq(host.netns)} ` +
    `unshare --pid --uts --mount --ipc --fork --propagation private /bin/sh ${shq(host.bootFile)} ` +
    `</dev/null >>${shq(host.logFile)} 2>&1 ${CLOSE_FDS}`
  );
}
