// The `postgres_packages` fact: dpkg's view of postgresql* packages.
import { lines } from './text.js';
import type { FactDef, PackageFact } from './types.js';

/** One tab-separated line per package known to dpkg; dpkg-query exits 1 when none matches, which is not an error. */
export const postgresPackagesFact: FactDef<PackageFact[]> = {
  name: 'postgres_packages',
  tool: 'dpkg-query',
  command: `
command -v dpkg-query >/dev/null 2>&1 || exit 127
dpkg-query -W -f='\${Package}\\t\${Version}\\t\${db:Status-Status}\\n' 'postgresql*' 2>/dev/null || true`,
  parse(section) {
    return lines(section.stdout).flatMap((line) => {
      const [name, version, status] = line.split('\t');
      if (!name || status === undefined) return [];
      const word = status.trim();
      return [{ name: name.trim(), version: version.trim() || null, status: word, installed: word === 'installed' }];
    });
  },
  absent: () => [],
};
