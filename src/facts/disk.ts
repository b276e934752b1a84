// The `disk` fact: df per mount of a real filesystem, in bytes.
import { lines, toInt } from './text.js';
import type { DiskFact, FactDef } from './types.js';

/** Filesystem types that hold no user data. */
export const PSEUDO_FILESYSTEMS = new Set([
  'tmpfs', 'devtmpfs', 'proc', 'sysfs', 'cgroup', 'cgroup2', 'devpts', 'mqueue', 'hugetlbfs', 'debugfs', 'tracefs',
  'securityfs', 'pstore', 'bpf', 'configfs', 'fusectl', 'efivarfs', 'binfmt_misc', 'autofs', 'nsfs', 'ramfs', 'squashfs',
  'rpc_pipefs', 'selinuxfs', 'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'overlay.tmpfs',
]);

/** df's Capacity: used over what a user may use, rounded up as df does. */
function usedPercent(used: number, available: number): number {
  const total = used + available;
  return total === 0 ? 0 : Math.ceil((used * 100) / total);
}

/** Parse `df -P -T -B1`: Filesystem Type Size Used Available Capacity Mount (the mount may hold spaces). */
export function parseDf(text: string): DiskFact[] {
  return lines(text).flatMap((line): DiskFact[] => {
    const m = /^(.+?)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(?:\d+%|-)\s+(\/.*)$/.exec(line);
    if (!m || PSEUDO_FILESYSTEMS.has(m[2])) return [];
    const [size, used, available] = [m[3], m[4], m[5]].map((v) => toInt(v) ?? 0);
    if (size === 0) return [];
    return [{ filesystem: m[1], type: m[2], size, used, available, mount: m[6], used_percent: usedPercent(used, available) }];
  });
}

/** df over every mount; a non-zero exit (an unreadable mount) still leaves the other lines. */
export const diskFact: FactDef<DiskFact[]> = {
  name: 'disk',
  tool: 'df',
  command: `
command -v df >/dev/null 2>&1 || exit 127
df -P -T -B1`,
  parse: (section) => parseDf(section.stdout),
  absent: () => [],
};
