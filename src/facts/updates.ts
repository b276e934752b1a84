// The `postgres_updates` fact: for each installed postgresql* package, the installed and candidate versions apt knows.
import { lines } from './text.js';
import type { FactDef, PackageUpdate } from './types.js';

/** Parse `apt-cache policy PKG...`: a `name:` line, then `Installed:` and `Candidate:` lines ('(none)' is null). */
export function parsePolicy(text: string): PackageUpdate[] {
  const out: PackageUpdate[] = [];
  let current: PackageUpdate | undefined;
  const version = (v: string) => (v === '(none)' || v === '' ? null : v);
  for (const line of lines(text)) {
    const head = /^(\S+):$/.exec(line);
    const field = /^\s+(Installed|Candidate):\s*(\S*)/.exec(line);
    if (head) out.push((current = { name: head[1], installed: null, candidate: null, pending: false }));
    else if (field && current) current[field[1] === 'Installed' ? 'installed' : 'candidate'] = version(field[2]);
  }
  for (const p of out) p.pending = p.installed !== null && p.candidate !== null && p.candidate !== p.installed;
  return out;
}

/** Asks apt's local lists only (no network): what `apt-get upgrade` would bring for the installed Postgres packages. */
export const postgresUpdatesFact: FactDef<PackageUpdate[]> = {
  name: 'postgres_updates',
  tool: 'apt-cache',
  command: `
command -v apt-cache >/dev/null 2>&1 || exit 127
names=$(dpkg-query -W -f='\${db:Status-Status} \${Package}\\n' 'postgresql*' 2>/dev/null | awk '$1 == "installed" { print $2 }')
[ -z "$names" ] || apt-cache policy $names | grep -E '^[^ ]|^  (Installed|Candidate):'`,
  parse: (section) => parsePolicy(section.stdout),
  absent: () => [],
};
