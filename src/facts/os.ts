// The `os` fact: distribution, kernel, hostname and whether systemd runs.
import { parseAssignments, partLine, partText } from './text.js';
import type { FactDef, OsFact } from './types.js';

/** Reads os-release, the kernel's release, the hostname, pid 1's name and /run/systemd/system, each in its own part
 *  (with the shell's builtins: no process). */
export const osFact: FactDef<OsFact> = {
  name: 'os',
  tool: null,
  command: `
ic_part os-release; ic_cat /etc/os-release || ic_cat /usr/lib/os-release
ic_part kernel; ic_cat /proc/sys/kernel/osrelease || uname -r
ic_part hostname; ic_cat /proc/sys/kernel/hostname || uname -n
ic_part init; ic_cat /proc/1/comm
if [ -d /run/systemd/system ]; then ic_part systemd; echo yes; fi`,
  parse(section) {
    const rel = parseAssignments(partText(section, 'os-release') ?? '');
    return {
      id: rel.ID || null,
      version_id: rel.VERSION_ID || null,
      pretty_name: rel.PRETTY_NAME || null,
      kernel: partLine(section, 'kernel'),
      hostname: partLine(section, 'hostname'),
      init: partLine(section, 'init'),
      systemd: partLine(section, 'systemd') === 'yes',
    };
  },
  absent: () => ({ id: null, version_id: null, pretty_name: null, kernel: null, hostname: null, init: null, systemd: false }),
};
