// `ironclad pitr base|status|restore|drill`: continuous archiving. base and status ask the store (its script does the
// work, as its cron does); restore and drill live in scripts/pitr-restore.ts.
import { OperationError, UserError } from '../src/core/errors.js';
import { mask } from '../src/core/secrets.js';
import { shq } from '../src/core/quote.js';
import { fanOut } from '../src/executor/fanout.js';
import { connectionLimit } from '../src/executor/limit.js';
import { withPool } from '../src/executor/pool.js';
import { tail } from '../src/connectors/output.js';
import { inventoryFile, loadInventory } from '../src/inventory/load.js';
import type { Host, Inventory } from '../src/inventory/types.js';
import { archivingClients, PITR_PATHS, pitrOf } from '../src/pitr/render.js';
import { parseBaseProgress, parseStatus, progressLine, renderStatus, statusJson, type ClusterWindow } from '../src/pitr/status.js';
import { printJson, type Family, type Invocation } from './cli.js';
import { drill, restore, restoreOptions } from './pitr-restore.js';

/** A database host that archives, and its store; bad input (exit 2) otherwise. */
function archiving(inv: Inventory, name: unknown): { host: Host; store: Host } {
  if (typeof name !== 'string' || !name) throw new UserError('--host HOST is required', 'e.g. ironclad pitr base --host db-prod');
  const host = inv.hosts.find((h) => h.name === name);
  if (!host) throw new UserError(`--host ${name}: no such host in ${inv.file}`);
  if (!pitrOf(host)) throw new UserError(`${name} does not archive continuously (it needs backup: and postgres:, and pitr.enabled not false) in ${inv.file}`);
  return { host, store: inv.hosts.find((h) => h.name === host.backup!.to)! };
}

async function base({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const { host, store } = archiving(inv, options.host);
  const root = store.backup_store!.path;
  return withPool(async (pool) => {
    const conn = await pool.get(store);
    const started = Date.now();
    const show = !flags.json && process.stderr.isTTY;
    let last = '';
    const timer = show
      ? setInterval(async () => {
          const r = await conn.run(`tail -c 300 ${shq(`${root}/pitr/${host.name}/base`)}/.*/log 2>/dev/null; true`).catch(() => null);
          const p = r && parseBaseProgress(r.stdout);
          if (p) process.stderr.write(`\r${host.name}: base backup ${(last = progressLine(p, (Date.now() - started) / 1000))}   `);
        }, 2000)
      : undefined;
    const r = await conn.run(`[ -x ${PITR_PATHS.script} ] || { echo "continuous archiving is not installed on ${store.name}: run ironclad apply" >&2; exit 1; }; ${PITR_PATHS.script} base ${shq(host.name)}`).finally(() => timer && clearInterval(timer));
    if (last) process.stderr.write('\n');
    const code = r.code === 0 ? 0 : r.code === 3 ? 3 : 1;
    const made = r.stdout.match(/^base \S+ (\d{8}T\d{6}Z) (\S+)\.\.(\S+) (\d+) bytes$/m);
    if (flags.json) printJson({ host: host.name, store: store.name, ok: code === 0, id: made?.[1] ?? null, start_lsn: made?.[2] ?? null, end_lsn: made?.[3] ?? null, bytes: made ? Number(made[4]) : null, seconds: Math.round((Date.now() - started) / 100) / 10, error: code ? mask(tail(r.stderr)) : null });
    else if (code === 0) process.stdout.write(`${host.name}: base backup ${made?.[1] ?? ''} on ${store.name} (${made ? `${(Number(made[4]) / 1048576).toFixed(1)} MB encrypted, WAL ${made[2]}..${made[3]}` : r.stdout.trim()}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    else process.stderr.write(`${host.name}: base backup ${code === 3 ? 'REFUSED' : 'FAILED'} (exit ${r.code})\n${mask(tail(r.stderr))}\n`);
    return code;
  });
}

/** The windows of every archiving cluster (or of --host), read from their stores; only stores inside --limit. */
export async function readWindows(inv: Inventory, hostName?: string): Promise<ClusterWindow[]> {
  const limit = connectionLimit();
  const only = hostName === undefined ? undefined : archiving(inv, hostName);
  const stores = only ? [only.store] : inv.hosts.filter((s) => s.backup_store && archivingClients(s, inv.hosts).length && (!limit || limit.has(s.name)));
  const outs = await withPool((pool) =>
    fanOut(stores, async (s) => {
      const r = await (await pool.get(s)).run(`[ -x ${PITR_PATHS.script} ] || exit 100; ${PITR_PATHS.script} status${only ? ` ${shq(only.host.name)}` : ''}`);
      if (r.code === 100) return archivingClients(s, inv.hosts).filter((c) => !only || c.name === only.host.name).map((c): ClusterWindow => ({ host: c.name, cluster: `${c.postgres!.version}/${c.postgres!.cluster}`, earliest: null, latest: null, lag_s: null, archiving: false, store: s.name, bases: 0, segments: 0, gap: false, received_s: null, receiver: false, stopped: 'continuous archiving is not installed on the store (run ironclad apply)', since: null }));
      if (r.code !== 0) throw new OperationError(`${s.name}: ironclad-pitr status failed (exit ${r.code})\n${tail(r.stderr)}`);
      return parseStatus(r.stdout, s.name);
    }),
  );
  const failed = outs.filter((o) => !o.ok);
  if (failed.length) throw new OperationError(failed.map((o) => (o.ok ? '' : `${o.host}: ${o.error.message}`)).join('\n'));
  return outs.flatMap((o) => (o.ok ? o.value : []));
}

async function status({ options, flags }: Invocation): Promise<number> {
  const inv = loadInventory(inventoryFile(flags.inventory));
  const windows = await readWindows(inv, options.host as string | undefined);
  if (flags.json) printJson(statusJson(windows));
  else process.stdout.write(renderStatus(windows) + '\n');
  return windows.every((w) => w.archiving) ? 0 : 3;
}

export const pitrFamily: Family = {
  name: 'pitr',
  summary: 'pitr base --host H | pitr status [--host H] | pitr restore --host H --time T|latest --to HOST [--port P] | pitr drill [--host H]',
  options: { ...restoreOptions },
  async run(invocation) {
    const sub = invocation.words[0];
    switch (sub) {
      case 'base':
        return base(invocation);
      case 'status':
        return status(invocation);
      case 'restore':
        return restore(invocation);
      case 'drill':
        return drill(invocation);
      default:
        throw new UserError(`unknown pitr command '${sub ?? ''}'`, 'use: pitr base --host H | pitr status [--host H] | pitr restore ... | pitr drill [--host H]');
    }
  },
};
