// Every built-in action a runbook step may name.
import { cleanupAction, copyAction, pickAction } from '../refresh/copy.js';
import { restoreAction } from '../refresh/restore-action.js';
import { checkRowsAction } from '../refresh/check.js';
import { discardAction, handOverAction } from '../refresh/discard.js';
import { guardAction } from '../refresh/guard.js';
import { eventsAction, swapAction, swapBackAction } from '../refresh/swap.js';
import { piiScanAction, promoteAction, scrubAction } from '../refresh/transform.js';
import { reportAction } from '../restore/report.js';
import { restoreSwapAction, restoreSwapBackAction } from '../restore/swap.js';
import { targetAction } from '../restore/target.js';
import { CORRUPTION_ACTIONS } from '../corruption/actions.js';
import { CHECKSUM_ACTIONS } from '../corruption/checksums.js';
import { PITR_RESTORE_ACTIONS } from '../pitr/restore-actions.js';
import { cliAction } from './cli-action.js';
import type { Action } from './types.js';

export const ACTIONS = new Map<string, Action>(
  [
    cliAction, guardAction, pickAction, copyAction, restoreAction, scrubAction, piiScanAction, promoteAction, swapAction, swapBackAction, eventsAction, cleanupAction, checkRowsAction, discardAction, handOverAction,
    targetAction, reportAction, restoreSwapAction, restoreSwapBackAction,
    ...CORRUPTION_ACTIONS, ...CHECKSUM_ACTIONS, ...PITR_RESTORE_ACTIONS,
  ].map((a) => [a.name, a]),
);
