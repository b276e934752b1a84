// restore-production's actions on the copy it restores (restore.*) that the refresh's functions do: each parses its
// step's parameters once and calls the typed function of src/refresh/.
import { countingOf } from '../../backup/counts.js';
import { checkRows } from '../../refresh/check.js';
import { ownerOf, refreshOf, sideNames } from '../../refresh/db.js';
import { handOverIncoming } from '../../refresh/discard.js';
import { defineAction, optText, rowCounts, text } from './define.js';

export const checkRowsAction = defineAction({
  name: 'restore.check_rows',
  summary: "compare every restored table's rows with the backup's manifest",
  inputs: { row_counts: ['refresh.copy.row_counts', 'refresh.pick_backup.row_counts'] },
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p), rowCounts: rowCounts(p, 'row_counts'), counting: countingOf(p), time: text(p, 'time'), newestEvent: optText(p, 'newest_event') || undefined }),
  describe: ({ r }) => `count the rows of every table in ${sideNames(r.spec.to.database).incoming} and compare with the manifest`,
  run: ({ r, ...o }, ctx) => checkRows(ctx, r, o),
});

export const handOverAction = defineAction({
  name: 'restore.hand_over',
  summary: 'give the restored and checked copy to the database owner role and let sessions in; the refresh role logs in no more',
  parse: (p, ctx) => ({ r: refreshOf(ctx.inv, p) }),
  describe: ({ r }) => `on ${r.target.name}: ${sideNames(r.spec.to.database).incoming} becomes ${ownerOf(r.target, r.spec.to.database)}'s`,
  run: ({ r }, ctx) => handOverIncoming(ctx, r),
});

export const RESTORE_ACTIONS = [checkRowsAction, handOverAction];
