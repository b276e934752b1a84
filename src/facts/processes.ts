// The `postgres_processes` fact: every postgres process from /proc (argv exact, NUL-separated), postmasters flagged.
import { lines, toInt } from './text.js';
import type { FactDef, PidFile, PostgresProcess } from './types.js';

const US = '\x1f';

/** A raw process record before roles are known. */
export interface RawProcess {
  pid: number;
  ppid: number;
  user: string;
  cwd: string | null;
  args: string[];
}

/** The value of an option given as `-X value`, `-Xvalue`, `--long=value` or `--long value`. */
function optionValue(args: string[], short: string, long: string): string | null {
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === short || a === long) return args[i + 1] ?? null;
    if (a.startsWith(`${long}=`)) return a.slice(long.length + 1);
    if (a.startsWith(short) && a.length > short.length && !a.startsWith('--')) return a.slice(short.length);
  }
  return null;
}

/** The value of a `-c name=value` / `--name=value` setting on a postgres command line (`-` and `_` alike). */
export function settingValue(args: string[], name: string): string | null {
  const want = name.replace(/-/g, '_');
  const eq = (s: string): string | null => {
    const i = s.indexOf('=');
    return i > 0 && s.slice(0, i).replace(/-/g, '_') === want ? s.slice(i + 1) : null;
  };
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    const v = a === '-c' ? eq(args[i + 1] ?? '') : a.startsWith('-c') ? eq(a.slice(2)) : a.startsWith('--') ? eq(a.slice(2)) : null;
    if (v !== null) return v;
  }
  return null;
}

/** Parse the lines of postmaster.pid (pid, data dir, start time, port, socket dir, listen addresses, ...). */
export function parsePidFile(fields: string[]): PidFile {
  return {
    data_directory: fields[1] || null,
    start_time: toInt(fields[2]),
    port: toInt(fields[3]),
    socket_directory: fields[4] || null,
    listen_addresses: fields[5] || null,
  };
}

/** Role, data directory and port of each process: a postmaster is a postgres process whose parent is not one. */
export function classifyProcesses(raw: RawProcess[], pidFiles: Map<number, PidFile>): PostgresProcess[] {
  const pids = new Set(raw.map((p) => p.pid));
  return raw.map((p): PostgresProcess => {
    const base = { pid: p.pid, ppid: p.ppid, user: p.user, args: p.args, command: p.args.join(' '), cwd: p.cwd };
    if (pids.has(p.ppid)) return { ...base, role: 'child', title: base.command.replace(/^postgres:\s*/, '').trim() };
    const pidfile = pidFiles.get(p.pid) ?? null;
    const port = optionValue(p.args, '-p', '--port') ?? settingValue(p.args, 'port');
    return {
      ...base,
      role: 'postmaster',
      data_directory: optionValue(p.args, '-D', '--pgdata') ?? settingValue(p.args, 'data_directory') ?? pidfile?.data_directory ?? p.cwd,
      port: toInt(port) ?? pidfile?.port ?? null,
      config_file: settingValue(p.args, 'config_file'),
      pidfile,
    };
  });
}

/** Parse the records: `P US pid US ppid US user US cwd US argv...` and `F US pid US postmaster.pid lines...` (US is \x1f). */
export function parseProcessRecords(text: string): PostgresProcess[] {
  const raw: RawProcess[] = [];
  const pidFiles = new Map<number, PidFile>();
  for (const line of lines(text)) {
    const [tag, pid, ...rest] = line.split(US);
    const n = toInt(pid);
    if (n === null) continue;
    if (tag === 'F') pidFiles.set(n, parsePidFile(rest));
    if (tag !== 'P') continue;
    const [ppid, user, cwd, ...argv] = rest;
    while (argv.length > 0 && argv[argv.length - 1] === '') argv.pop();
    if (argv.length === 0) continue; // exiting or zombie: no argv, no instance
    // A process title set by postgres is one argv string padded with spaces.
    const args = argv.length === 1 ? [argv[0].trimEnd()] : argv;
    raw.push({ pid: n, ppid: toInt(ppid) ?? 0, user: user ?? '', cwd: cwd || null, args });
  }
  return classifyProcesses(raw.sort((a, b) => a.pid - b.pid), pidFiles);
}

/** Walks /proc for processes named postgres/postmaster; argv exact (unit-separated); postmaster.pid read through
 * /proc/PID/cwd when it names that pid (as its own pid namespace numbers it: right for a postmaster in a container too). */
export const postgresProcessesFact: FactDef<PostgresProcess[]> = {
  name: 'postgres_processes',
  tool: '/proc',
  command: `
[ -d /proc/self ] || exit 127
lu=; n=
for d in /proc/[0-9]*; do
  read -r c 2>/dev/null <"$d/comm" || continue
  case $c in (postgres|postmaster) ;; (*) continue ;; esac
  p=\${d#/proc/}; pp=; u=; np=\$p
  while read -r k v; do case $k in (PPid:) pp=$v ;; (Uid:) u=\${v%%[	 ]*} ;; (NSpid:) np=\${v##*[	 ]} ;; esac; done 2>/dev/null <"$d/status"
  [ "$u" = "$lu" ] || { lu=$u; n=$(id -nu "$u" 2>/dev/null) || n=$u; }
  w=$(readlink "$d/cwd" 2>/dev/null)
  printf 'P\\037%s\\037%s\\037%s\\037%s\\037' "$p" "$pp" "$n" "$w"
  tr '\\000\\n' '\\037 ' 2>/dev/null <"$d/cmdline"; echo
  # (read once, bounded, no pipe or device: the file is its owner's, who could swap it between two reads)
  f="$d/cwd/postmaster.pid"; pf=''
  if [ -f "$f" ] && [ ! -L "$f" ]; then pf=$(head -c 4096 "$f" 2>/dev/null); fi
  if [ -n "$pf" ] && [ "$(printf '%s\\n' "$pf" | head -n 1)" = "$np" ]; then
    printf 'F\\037%s\\037' "$p"; printf '%s\\n' "$pf" | tr '\\n' '\\037'; echo
  fi
done
true`,
  parse: (section) => parseProcessRecords(section.stdout),
  absent: () => [],
};
