// `ironclad backup run|list|verify`: run the installed job, read the store's catalog, verify checksums and restore drills.
// `run` loads only what it needs (the job's time is measured against a plain pipeline: the CLI's start counts);
// list and verify are in backup-read.ts, loaded when asked for.
import { UserError } from '../src/core/errors.js';
import { BACKUP_PATHS as PATHS } from '../src/core/host-paths.js';
import { mask } from '../src/core/secrets.js';
import { withPool } from '../src/executor/pool.js';
import { inventoryFile, loadInventory, selectHosts } from '../src/inventory/load.js';
import type { Host, Inventory } from '../src/inventory/types.js';
import { printJson, type Family, type Invocation } from './cli.js';

/** The host of --host, which must back up (for run, list and verify). */
export function backupHost(inv: Inventory, name: unknown): Host {
  if (typeof name !== 'string') throw new UserError('--host HOST is required', 'e.g. ironclad backup run --host db-prod');
  const [h] = selectHosts(inv, [name]);
  if (!h.backup) throw new UserError(`host '${h.name}' has no backup: section in ${inv.file}`);
  return h;
}

async function run({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const host = backupHost(inv, options.host);
  return withPool(async (pool) => {
    const conn = await pool.get(host);
    const result = await conn.run(`[ -x ${PATHS.job} ] || { echo "the backup job is not installed on this host: run ironclad apply" >&2; exit 1; }; ${PATHS.job}`);
    const code = [0, 1, 3].includes(result.code) ? result.code : 1;
    if (flags.json) printJson({ host: host.name, ok: code === 0, exit: result.code, log: mask(result.stderr).trim().split('\n') });
    else process.stderr.write(mask(result.stderr));
    if (!flags.json) process.stdout.write(code === 0 ? `${host.name}: backup done\n` : code === 3 ? `${host.name}: backup REFUSED (exit 3)\n` : `${host.name}: backup FAILED (exit ${result.code})\n`);
    return code;
  });
}

export const backupFamily: Family = {
  name: 'backup',
  summary: 'backup run --host H | backup list [--host H] | backup verify [--host H] [--id ID | --latest] [--restore]',
  options: { host: { type: 'string' }, id: { type: 'string' }, latest: { type: 'boolean' }, restore: { type: 'boolean' } },
  async run(invocation) {
    const sub = invocation.words[0];
    switch (sub) {
      case 'run':
        return run(invocation);
      case 'list':
        return (await import('./backup-read.js')).list(invocation);
      case 'verify':
        return (await import('./backup-read.js')).verify(invocation);
      default:
        throw new UserError(`unknown backup command '${sub ?? ''}'`, 'use: backup run --host H | backup list | backup verify');
    }
  },
};
