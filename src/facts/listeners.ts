// The `listeners` fact: listening TCP and unix sockets with their owning processes (ss -p).
import { lines, partText, toInt } from './text.js';
import type { FactDef, Listener, SocketOwner, TcpListener, UnixListener } from './types.js';

/** The owners in `users:(("postgres",pid=812,fd=6),...)`. */
export function parseSocketOwners(text: string): SocketOwner[] {
  const out: SocketOwner[] = [];
  const re = /\("((?:[^"\\]|\\.)*)",pid=(\d+)(?:,fd=(\d+))?\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ name: m[1], pid: Number(m[2]), fd: toInt(m[3]) });
  return out;
}

/** Split an ss `Local Address:Port` into address and port: `[::1]:5432`, `*:22`, `0.0.0.0%lo:53`. */
export function splitAddress(local: string): { address: string; port: number } | null {
  const m = /^(.*):(\d+|\*)$/.exec(local);
  if (!m) return null;
  const port = toInt(m[2]);
  if (port === null) return null;
  return { address: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

/** Lines of `ss -H -ltnp`: State Recv-Q Send-Q Local Peer [Process]. */
export function parseTcpListeners(text: string): TcpListener[] {
  return lines(text).flatMap((line): TcpListener[] => {
    const [, , , local] = line.trim().split(/\s+/);
    const at = local ? splitAddress(local) : null;
    return at ? [{ kind: 'tcp', ...at, processes: parseSocketOwners(line) }] : [];
  });
}

/** Lines of `ss -H -lxp`: Netid State Recv-Q Send-Q Path Inode Peer PeerInode [Process]; a path may hold spaces. */
export function parseUnixListeners(text: string): UnixListener[] {
  return lines(text).flatMap((line): UnixListener[] => {
    const users = line.indexOf('users:(');
    const fields = (users >= 0 ? line.slice(0, users) : line).trim();
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+(.*?)\s+\d+\s+\S+\s+\d+$/.exec(fields);
    if (!m || m[1] === '*') return [];
    return [{ kind: 'unix', path: m[1], processes: users >= 0 ? parseSocketOwners(line.slice(users)) : [] }];
  });
}

/** ss for TCP, then ss for unix sockets, each in its part. */
export const listenersFact: FactDef<Listener[]> = {
  name: 'listeners',
  tool: 'ss',
  command: `
command -v ss >/dev/null 2>&1 || exit 127
ic_part tcp; ss -H -ltnp
ic_part unix; ss -H -lxp`,
  parse(section) {
    return [...parseTcpListeners(partText(section, 'tcp') ?? ''), ...parseUnixListeners(partText(section, 'unix') ?? '')];
  },
  absent: () => [],
};
