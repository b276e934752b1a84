// The list of command families; each lives in its own file under scripts/.
import type { Family } from './cli.js';

export const families: Family[] = [];
