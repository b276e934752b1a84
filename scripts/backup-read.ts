// `ironclad backup list|verify` (loaded by backup.ts when asked for): the store's catalog, checksums and restore drills.
import { OperationError, UserError } from '../src/core/errors.js';
import { parseVerify, readCatalog, verifyScript, type BackupEntry } from '../src/backup/catalog.js';
import { runDrill } from '../src/backup/drill.js';
import { drillHost } from '../src/backup/links.js';
import { PATHS } from '../src/backup/render.js';
import { fanOut } from '../src/executor/fanout.js';
import { connectionLimit } from '../src/executor/limit.js';
import { withPool, type ConnectionPool } from '../src/executor/pool.js';
import { tail } from '../src/connectors/output.js';
import { inventoryFile, loadInventory } from '../src/inventory/load.js';
import { shq } from '../src/core/quote.js';
import type { Inventory } from '../src/inventory/types.js';
import { renderBackupList } from '../src/report/backups.js';
import { printJson, type Invocation } from './cli.js';
import { backupHost } from './backup.js';

/** Every store's catalog (or only the store of --host), entries of that host only. */
export async function listBackups(inv: Inventory, pool: ConnectionPool, hostName?: string): Promise<BackupEntry[]> {
  // under --limit only the stores inside it are read (no other host is contacted)
  const limit = connectionLimit();
  const stores = hostName ? [inv.hosts.find((s) => s.name === backupHost(inv, hostName).backup!.to)!] : inv.hosts.filter((h) => h.backup_store && (!limit || limit.has(h.name)));
  const outcomes = await fanOut(stores, async (s) => readCatalog(await pool.get(s), s));
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length) throw new OperationError(failed.map((o) => (o.ok ? '' : `${o.host}: ${o.error.message}`)).join('\n'));
  const all = outcomes.flatMap((o) => (o.ok ? o.value.entries : []));
  return hostName ? all.filter((e) => e.host === hostName) : all;
}

export async function list({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const entries = await withPool((pool) => listBackups(inv, pool, options.host as string | undefined));
  if (flags.json) printJson({ backups: entries.map(({ row_counts, ...e }) => e) });
  else process.stdout.write(renderBackupList(entries) + '\n');
  return 0;
}

/** Which backups `verify` checks: --id, else the newest of each host and database (--latest is the default). */
export function chooseBackups(entries: BackupEntry[], id?: string): BackupEntry[] {
  if (id) {
    const e = entries.find((x) => x.id === id);
    if (!e) throw new UserError(`no backup with id ${id}`, 'see ironclad backup list');
    return [e];
  }
  const newest = new Map<string, BackupEntry>();
  for (const e of entries) if (!newest.has(`${e.host}/${e.database}`)) newest.set(`${e.host}/${e.database}`, e);
  return [...newest.values()];
}

export async function verify({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  if (options.id && options.latest) throw new UserError('use either --id or --latest');
  return withPool(async (pool) => {
    const chosen = chooseBackups(await listBackups(inv, pool, options.host as string | undefined), options.id as string | undefined);
    if (!chosen.length) throw new UserError('no backups to verify', 'run ironclad backup run --host HOST first');
    const results = [];
    const log = (line: string) => flags.json || process.stderr.write(`${line}\n`);
    for (const e of chosen) {
      const store = inv.hosts.find((h) => h.name === e.store)!;
      const conn = await pool.get(store);
      const r = await conn.run(`sh -s -- ${shq(e.path)}`, { stdin: verifyScript() });
      if (r.code !== 0 && r.code !== 3) throw new OperationError(`${store.name}: verification of ${e.id} could not run (exit ${r.code})\n${tail(r.stderr || r.stdout)}`);
      const checked = parseVerify(r.stdout);
      let drill = null;
      if (options.restore && !checked.problems.length) {
        // the drill runs where the identity is (never the store), and the store records its result outside the backup
        const source = inv.hosts.find((h) => h.name === e.host && h.backup);
        if (!source) throw new UserError(`backup ${e.id} is of ${e.host}, which this inventory does not back up`, 'a drill runs on the drill host of the database host named in the inventory');
        const host = drillHost(inv, source);
        const d = await runDrill({ pool, store, host, entry: e, log });
        checked.problems.push(...d.problems);
        drill = { verified: d.problems.length === 0, at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), seconds: d.seconds, host: host.name, server: d.server };
        const rec = await conn.run(`${PATHS.store} record ${shq(e.host)} ${shq(e.database)} ${shq(e.id)}`, { stdin: JSON.stringify(drill) + '\n' });
        if (rec.code !== 0) throw new OperationError(`${store.name}: recording the drill of ${e.id} failed (exit ${rec.code})\n${tail(rec.stderr)}`);
      }
      results.push({ id: e.id, host: e.host, database: e.database, problems: checked.problems, drill });
    }
    const ok = results.every((r) => r.problems.length === 0);
    if (flags.json) printJson({ ok, backups: results });
    else
      for (const r of results) {
        process.stdout.write(`${r.id}: ${r.problems.length ? 'FAILED' : 'OK'}${r.drill ? ` (restore drill ${r.drill.verified ? 'passed' : 'failed'} in ${r.drill.seconds} s)` : ''}\n`);
        for (const p of r.problems) process.stdout.write(`  ! ${p}\n`);
      }
    return ok ? 0 : 3;
  });
}
