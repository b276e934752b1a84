// restore-production's actions (restore.*): each parses its step's parameters once and calls the typed function of
// src/restore/ or src/refresh/ that does the work.
import { countingOf } from '../../backup/counts.js';
import { UserError } from '../../core/errors.js';
import { selectHosts } from '../../inventory/load.js';
import { checkRows } from '../../refresh/check.js';
import { ownerOf, refreshOf, sideNames } from '../../refresh/db.js';
import { handOverIncoming } from '../../refresh/discard.js';
import { leftOutOf, leftOutSummary } from '../../refresh/left-out.js';
import { restoreReport } from '../../restore/report.js';
import { restoreSwap, restoreSwapBack } from '../../restore/swap.js';
import { restoreTarget } from '../../restore/target.js';
import { defineAction, optText, rowCounts, text } from './define.js';

export const targetAction = defineAction({
  name: 'restore.target',
  summary: "say which host and cluster a restore goes onto (address, hostname, pinned identity, the backups' cluster or another); refuse a refresh target, a source machine under another name, a failed census, a disk without room",
  rerunOnResume: true,
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p), from: optText(p, 'from') }),
  describe: ({ r }) => `${r.target.name} (${r.target.address}): its hostname, pinned cluster identity and whether it is the cluster ${r.source.name}'s backups come from; one instance as expected; room for the copy; never a refresh target`,
  run: ({ r, from }, ctx) => restoreTarget(ctx, ctx.inv, r, { from }),
});

export const checkRowsAction = defineAction({
  name: 'restore.check_rows',
  summary: "compare every restored table's rows with the backup's manifest",
  inputs: { row_counts: ['refresh.copy.row_counts', 'refresh.pick_backup.row_counts'] },
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p), rowCounts: rowCounts(p, 'row_counts'), counting: countingOf(p), time: text(p, 'time'), newestEvent: optText(p, 'newest_event') || undefined }),
  describe: ({ r }) => `count the rows of every table in ${sideNames(r.spec.to.database).incoming} and compare with the manifest`,
  run: ({ r, ...o }, ctx) => checkRows(ctx, r, o),
});

export const reportAction = defineAction({
  name: 'restore.report',
  summary: "what time the restored data represents (the backup's time, its newest event) and what came after it in the damaged database (read as its owner), or the span when it cannot be read; what the restore left out, why, and how to restore each",
  inputs: { left_out: ['refresh.restore.left_out'] },
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p), id: optText(p, 'id') ?? '?', time: String(p.time), newestEvent: typeof p.newest_event === 'string' ? p.newest_event : null, rowCounts: rowCounts(p, 'row_counts'), counting: countingOf(p), leftOut: leftOutOf(p.left_out), publications: Array.isArray(p.publications) ? p.publications.map(String) : [] }),
  describe: ({ r, id }) => `the time of backup ${id} and its newest event; what ${r.spec.from.database} on ${r.source.name} holds after it (or, unreadable, the span since)`,
  run: ({ r, ...o }, ctx) => restoreReport(ctx, ctx.inv, r, o),
});

export const restoreSwapAction = defineAction({
  name: 'restore.swap',
  summary: "the restored copy takes the live database's place; the live one is kept as <db>__damaged_<UTC time> (sessions ended, one transaction, nothing dropped)",
  destructive: true,
  // (what the restore left out is said in the confirmation: a runbook that does not pass it on does not load)
  inputs: { left_out: ['restore.report.left_out'] },
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p), id: optText(p, 'id') ?? '?', time: optText(p, 'time') ?? '?', systemIdentifier: optText(p, 'system_identifier'), cluster: optText(p, 'cluster'), lost: optText(p, 'lost'), leftOut: leftOutOf(p.left_out) }),
  describe: ({ r, id, time, cluster, lost, leftOut }) => {
    const db = r.spec.to.database;
    const onto = cluster !== undefined && !cluster.startsWith('<') ? cluster : r.target.name;
    const left = leftOutSummary(leftOut);
    return `onto ${onto}.\n       Sessions on ${db} are ended; ${db} is renamed ${db}__damaged_<now, UTC> and kept (nothing is dropped); ${sideNames(db).incoming} (backup ${id}, data as of ${time}) becomes ${db}.\n       Not in the restored data: ${lost ?? '(see the report step)'}.${left ? `\n       ${left}.` : ''}\n       Undo: runbooks/restore-production-swap-back.yaml`;
  },
  run: ({ r, id, time, systemIdentifier }, ctx) => restoreSwap(ctx, r, { id, time, systemIdentifier }),
});

export const restoreSwapBackAction = defineAction({
  name: 'restore.swap_back',
  summary: 'put a database restore-production kept (<db>__damaged_<time>) back in place; the restored one is kept as <db>__restored_<time>; nothing dropped',
  destructive: true,
  parse: (p) => ({ host: text(p, 'host'), database: text(p, 'database'), kept: text(p, 'kept') }),
  describe: ({ host, database, kept }) => `on ${host}: sessions on ${database} ended; ${database} renamed ${database}__restored_<now, UTC> and kept; ${kept} becomes ${database} again (nothing is dropped)`,
  run: ({ host, database, kept }, ctx) => {
    const [target] = selectHosts(ctx.inv, [host]);
    if (!target.postgres) throw new UserError(`host '${target.name}' has no postgres: section`);
    return restoreSwapBack(ctx, { target, database, kept });
  },
});

export const handOverAction = defineAction({
  name: 'restore.hand_over',
  summary: 'give the restored and checked copy to the database owner role and let sessions in; the refresh role logs in no more',
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p) }),
  describe: ({ r }) => `on ${r.target.name}: ${sideNames(r.spec.to.database).incoming} becomes ${ownerOf(r.target, r.spec.to.database)}'s`,
  run: ({ r }, ctx) => handOverIncoming(ctx, r),
});

export const RESTORE_ACTIONS = [targetAction, checkRowsAction, reportAction, restoreSwapAction, restoreSwapBackAction, handOverAction];
