// The list of command families; each lives in its own file under scripts/.
import type { Family } from './cli.js';
import { auditFamily } from './audit.js';
import { backupFamily } from './backup.js';
import { factsFamily } from './facts.js';
import { imagesFamily } from './images.js';
import { checkFamily } from './instances.js';
import { labFamily } from './lab.js';
import { applyFamily, planFamily } from './provision.js';
import { refreshFamily, runbookFamily } from './runbook.js';
import { validateFamily } from './validate.js';

export const families: Family[] = [validateFamily, factsFamily, planFamily, applyFamily, checkFamily, backupFamily, refreshFamily, runbookFamily, imagesFamily, auditFamily, labFamily];
