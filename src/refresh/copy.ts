// Pick the latest verified backup, copy it from the store straight to the target (host to host), remove the copy afterwards.
import { OperationError, SafetyRefusal, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { readCatalog } from '../backup/catalog.js';
import { PATHS, shellSums, SSH_CIPHERS } from '../backup/render.js';
import { tail } from '../executor/run.js';
import type { Action } from '../runbook/types.js';
import { refreshOf } from './db.js';

export const pickAction: Action = {
  name: 'refresh.pick_backup',
  summary: 'the latest verified backup of the refresh source (or a given id)',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return p.from && p.from !== 'latest' ? `backup ${String(p.from)} of ${r.source.name}/${r.spec.from.database}` : `the latest verified backup of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const { entries } = await readCatalog(await ctx.pool.get(r.store), r.store);
    const mine = entries.filter((e) => e.host === r.source.name && e.database === r.spec.from.database);
    const chosen = p.from && p.from !== 'latest' ? mine.find((e) => e.id === p.from) : mine.find((e) => e.verified);
    if (!chosen) {
      if (p.from && p.from !== 'latest') throw new UserError(`no backup ${String(p.from)} of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`, 'see ironclad backup list');
      throw new SafetyRefusal(`no verified backup of ${r.source.name}/${r.spec.from.database} (${mine.length} unverified): run ironclad backup verify --host ${r.source.name} --latest --restore`);
    }
    ctx.log(`backup ${chosen.id}: ${chosen.tables} tables, ${chosen.rows} rows, taken ${chosen.time}${chosen.verified ? `, restore drill passed ${chosen.verified_at}` : ', NOT verified by a restore drill'}`);
    return { id: chosen.id, relative: chosen.path.slice(r.store.backup_store!.path.length).replace(/^\/+/, ''), time: chosen.time, rows: chosen.rows, tables: chosen.tables, newest_event: chosen.newest_event, row_counts: chosen.row_counts };
  },
};

export const copyAction: Action = {
  name: 'refresh.copy',
  summary: 'rsync the backup from the store to the target (resumable), checksums verified there',
  describe: (p, ctx) => {
    const r = refreshOf(ctx.inv, p);
    return `${r.target.name} pulls ${String(p.id ?? 'the backup')} from ${r.store.name} with its read-only key (host to host), then checks every checksum`;
  },
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    const dir = `${PATHS.refreshDir}/${String(p.id)}`;
    const ssh = `ssh -i ${PATHS.refreshKey} -p ${r.store.ssh.port} -o Ciphers=${SSH_CIPHERS} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${PATHS.knownHosts} -o ConnectTimeout=20`;
    const script = [
      shellSums(),
      'set -e',
      `mkdir -p ${shq(dir)}`,
      `rsync -a --partial --partial-dir=.partial --timeout=60 -e ${shq(ssh)} ${shq(`${r.store.backup_store!.user}@${r.store.address}:${String(p.relative)}/`)} ${shq(dir)}/`,
      `cd ${shq(dir)} && sums_check SHA256SUMS`,
      `chown -R postgres: ${shq(dir)}`,
      `du -sb ${shq(dir)} | cut -f1`,
    ].join('\n');
    const res = await (await ctx.pool.get(r.target)).run(script);
    if (res.code !== 0)
      throw new OperationError(`copying ${String(p.id)} to ${r.target.name} failed (exit ${res.code}); a resumed run continues the transfer\n${tail(res.stderr || res.stdout)}`);
    ctx.log(`${res.stdout.trim()} bytes in ${dir}, checksums verified`);
    return { dir };
  },
};

export const cleanupAction: Action = {
  name: 'refresh.cleanup',
  summary: 'remove the copied backup from the target',
  describe: (p, ctx) => `remove ${PATHS.refreshDir}/${String(p.id ?? '...')} on ${refreshOf(ctx.inv, p).target.name}`,
  async run(p, ctx) {
    const r = refreshOf(ctx.inv, p);
    if (!/^[A-Za-z0-9._-]+$/.test(String(p.id))) throw new UserError(`bad backup id ${String(p.id)}`);
    await (await ctx.pool.get(r.target)).run(`rm -rf ${shq(`${PATHS.refreshDir}/${String(p.id)}`)}`);
  },
};
