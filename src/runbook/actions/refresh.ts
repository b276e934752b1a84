// The staging refresh's runbook actions (refresh.*): each parses its step's parameters once and calls the typed
// function of src/refresh/ that does the work.
import { PATHS } from '../../backup/render.js';
import type { Inventory } from '../../inventory/types.js';
import { copyBackup, pickBackup, removeCopy } from '../../refresh/copy.js';
import { refreshOf, sideNames, type Refresh } from '../../refresh/db.js';
import { copiedDir, discardRun } from '../../refresh/discard.js';
import { latestEvents } from '../../refresh/events.js';
import { guardTarget } from '../../refresh/guard.js';
import { restoreIncoming } from '../../refresh/incoming.js';
import { lockTarget } from '../../refresh/lock.js';
import { refreshRole } from '../../refresh/login.js';
import { swapBack, swapRefresh } from '../../refresh/swap.js';
import { promoteAccounts, rulesOf, scanIncoming, scrubIncoming } from '../../refresh/transform.js';
import type { ActionContext } from '../types.js';
import { defineAction, flag, optNumber, optText, rowCounts, text } from './define.js';

/** The refresh a step works on (a refresh: section by name, or source, target and database), and the rest of its input. */
const refreshAnd =
  <I>(more: (p: Record<string, unknown>) => I) =>
  (p: Record<string, unknown>, ctx: ActionContext): { r: Refresh; i: I } => ({ r: refreshOf(ctx.inv, p), i: more(p) });

const none = () => ({});

/** The restore step's output that names the incoming copy: the steps after it work on that copy only. */
const RESTORED = 'refresh.restore.database';

/** The incoming copy a step reads (the restore step's output). */
const database = (p: Record<string, unknown>) => ({ database: text(p, 'database') });

export const guardAction = defineAction({
  name: 'refresh.guard',
  summary: 'refuse a production target; the single-instance check on the target (run again on every --resume)',
  rerunOnResume: true,
  parse: refreshAnd((p) => ({ sourceIdentity: p.source_identity === true })),
  describe: ({ r }) => `${r.target.name} must not be production (tag, on-host marker, or the cluster the backups come from) and must pass the single-instance check`,
  run: ({ r, i }, ctx) => guardTarget(ctx, r, i),
});

export const pickAction = defineAction({
  name: 'refresh.pick_backup',
  summary: 'the latest verified backup of the refresh source (or a given id)',
  parse: refreshAnd((p) => ({ from: optText(p, 'from') })),
  describe: ({ r, i: { from } }) => (from && from !== 'latest' ? `backup ${from} of ${r.source.name}/${r.spec.from.database}` : `the latest verified backup of ${r.source.name}/${r.spec.from.database} on ${r.store.name}`),
  run: ({ r, i }, ctx) => pickBackup(ctx, r, i.from),
});

export const copyAction = defineAction({
  name: 'refresh.copy',
  summary: 'the target fetches the backup from the store with its read key (resumable), checks every checksum and decrypts it with its own identity',
  parse: refreshAnd((p) => ({ id: text(p, 'id'), rowCounts: rowCounts(p, 'row_counts') })),
  describe: ({ r, i: { id } }) => `${r.target.name} fetches ${id} from ${r.store.name} with its read key (host to host), checks every checksum, decrypts it there (0600 files in a 0700 folder)`,
  run: ({ r, i }, ctx) => copyBackup(ctx, r, i),
});

export const restoreAction = defineAction({
  name: 'refresh.restore',
  summary: 'restore into a new database beside the live one, as a plain role, with parallel jobs (with scrub rules: scrubbed before its indexes are built, scanned for personal data while they are built)',
  parse: refreshAnd((p) => ({ dir: text(p, 'dir'), jobs: optNumber(p, 'jobs'), maintenanceWorkMem: optText(p, 'maintenance_work_mem') ?? '256MB', replace: p.refresh !== undefined, publications: flag(p, 'publications') })),
  describe: ({ r, i: { jobs, publications } }) =>
    `restore into ${sideNames(r.spec.to.database).incoming} on ${r.target.name} as ${refreshRole(r.spec.to.database)} (the live ${r.spec.to.database} is not touched), ${jobs ?? 'auto'} jobs${r.spec.scrub ? `, scrubbed by ${r.spec.scrub} before indexes are built` : ''}${publications ? "; with the publications that role may make (event triggers, subscriptions and the publications only a superuser makes are left out and named in the report)" : ''}`,
  run: ({ r, i }, ctx) => restoreIncoming(ctx, r, i),
});

export const scrubAction = defineAction({
  name: 'refresh.scrub',
  summary: "apply the scrub rules to the restored copy, in one transaction, production's triggers off",
  inputs: { database: [RESTORED], scrubbed: ['refresh.restore.scrubbed'] },
  parse: refreshAnd((p) => ({ database: optText(p, 'database'), scrubbed: optText(p, 'scrubbed') })),
  describe: ({ r, i: { database } }) => `scrub ${database ?? 'the restored copy'} by ${r.spec.scrub}`,
  run: ({ r, i }, ctx) => scrubIncoming(ctx, r, { database: String(i.database), scrubbed: i.scrubbed }),
});

export const piiScanAction = defineAction({
  name: 'refresh.pii_scan',
  summary: 'fail before the swap when emails, phone or card numbers remain in any column of any table',
  inputs: { database: [RESTORED], scrubbed: ['refresh.scrub.scrubbed'], scanned: ['refresh.restore.scanned'] },
  parse: refreshAnd((p) => ({ ...database(p), scrubbed: optText(p, 'scrubbed'), scanned: optText(p, 'scanned') })),
  describe: ({ r }) => {
    const skip = rulesOf(r.spec.scrub).verify?.pii_skip ?? [];
    return `scan every column that can hold text, of every table in every schema${skip.length ? ` but ${skip.join(', ')}` : ''}, for personal data`;
  },
  run: ({ r, i }, ctx) => scanIncoming(ctx, r, i),
});

export const promoteAction = defineAction({
  name: 'refresh.promote',
  summary: 'make the listed developer and tester accounts admins',
  inputs: { database: [RESTORED] },
  parse: refreshAnd(database),
  describe: ({ r }) => `promote ${(r.spec.promote?.accounts ?? []).join(', ') || 'nobody'}`,
  run: ({ r, i }, ctx) => promoteAccounts(ctx, r, i.database),
});

export const eventsAction = defineAction({
  name: 'refresh.events',
  summary: 'print the latest events and the age of the newest, loudly when it is stale',
  inputs: { database: [RESTORED] },
  parse: refreshAnd(database),
  describe: ({ r }) => {
    const e = r.spec.events;
    return e ? `the latest ${e.limit} rows of ${e.table} by ${e.time_column}${e.warn_older_than ? `, warning past ${e.warn_older_than}` : ''}` : 'no events configured';
  },
  run: ({ r, i }, ctx) => latestEvents(ctx, r, i.database),
});

export const swapAction = defineAction({
  name: 'refresh.swap',
  summary: "with the scan's proof: hand the scrubbed copy to the owner role, end sessions, keep the live database as __previous, put the copy in its place",
  destructive: true,
  inputs: { proof: ['refresh.pii_scan.proof'] },
  parse: refreshAnd((p) => ({ proof: optText(p, 'proof') })),
  describe: ({ r }) => {
    const { previous, incoming } = sideNames(r.spec.to.database);
    return `on ${r.target.name}: drop the old ${previous}, rename ${r.spec.to.database} to ${previous} and ${incoming} to ${r.spec.to.database} (sessions ended)`;
  },
  run: ({ r, i }, ctx) => swapRefresh(ctx, r, i),
});

export const swapBackAction = defineAction({
  name: 'refresh.swap_back',
  summary: 'put the previous database back in place (the refreshed one becomes __previous)',
  destructive: true,
  parse: refreshAnd(none),
  describe: ({ r }) => `on ${r.target.name}: exchange ${r.spec.to.database} and ${sideNames(r.spec.to.database).previous}`,
  run: ({ r }, ctx) => swapBack(ctx, r),
});

export const cleanupAction = defineAction({
  name: 'refresh.cleanup',
  summary: 'remove the copied backup from the target',
  parse: refreshAnd((p) => ({ id: optText(p, 'id') })),
  describe: ({ r, i: { id } }) => `remove ${PATHS.refreshDir}/${id ?? '...'} on ${r.target.name}`,
  run: ({ r, i }, ctx) => removeCopy(ctx, r, String(i.id)),
});

export const discardAction = defineAction({
  name: 'refresh.discard',
  summary: "after a failure: drop the incoming copy this run made (or, kept, close it to all but postgres), remove the copied backup, end the refresh role's login",
  parse: refreshAnd((p) => ({ copied: { dir: p.dir, id: p.id }, keep: flag(p, 'keep') })),
  describe: ({ r, i: { keep } }) => `on ${r.target.name}: ${keep ? `keep ${sideNames(r.spec.to.database).incoming} for postgres only` : `drop ${sideNames(r.spec.to.database).incoming} if this run made it`}, remove the copied backup`,
  run: ({ r, i }, ctx) => discardRun(ctx, r, { dir: copiedDir(i.copied), keep: i.keep }),
});

export const REFRESH_ACTIONS = [guardAction, pickAction, copyAction, restoreAction, scrubAction, piiScanAction, promoteAction, swapAction, swapBackAction, eventsAction, cleanupAction, discardAction];

/** The lock of the run's target database (one run into it at a time) when the run's parameters name one: a refresh,
 *  or restore-production's target and database. */
export async function lockRunTarget(inv: Inventory, pool: ActionContext['pool'], params: Record<string, unknown>): Promise<void> {
  if (params.refresh === undefined && (params.target === undefined || params.database === undefined)) return;
  const r = refreshOf(inv, params);
  await lockTarget(await pool.get(r.target), r.target, r.spec.to.database);
}
