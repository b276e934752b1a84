// Every built-in action a runbook step may name.
import { CORRUPTION_ACTIONS } from '../corruption/actions.js';
import { CHECKSUM_ACTIONS } from '../corruption/checksums.js';
import { PITR_RESTORE_ACTIONS } from '../pitr/restore-actions.js';
import { REFRESH_ACTIONS } from './actions/refresh.js';
import { RESTORE_ACTIONS } from './actions/restore.js';
import { cliAction } from './cli-action.js';
import type { Action } from './types.js';

export const ACTIONS = new Map<string, Action>(
  [cliAction, ...REFRESH_ACTIONS, ...RESTORE_ACTIONS, ...CORRUPTION_ACTIONS, ...CHECKSUM_ACTIONS, ...PITR_RESTORE_ACTIONS].map((a) => [a.name, a]),
);
