// `ironclad validate`: schema + rules, every problem as FILE:LINE:COL  path: message (exit 2), or a one-line OK.
import { displayPath } from '../src/core/paths.js';
import { formatProblem, sortProblems } from '../src/inventory/problems.js';
import { inventoryFile, validateInventory } from '../src/inventory/load.js';
import { printJson, type Family } from './cli.js';

export const validateFamily: Family = {
  name: 'validate',
  summary: 'check the inventory (schema + rules); every problem as FILE:LINE:COL  path: message',
  async run({ flags }) {
    const file = inventoryFile(flags.inventory);
    const { inventory, problems } = validateInventory(file);
    const shown = sortProblems(problems).map((p) => ({ ...p, file: displayPath(p.file) }));
    if (flags.json) printJson({ file, ok: problems.length === 0, problems: shown });
    else if (inventory) process.stdout.write(`${file}: valid (${inventory.hosts.length} host${inventory.hosts.length === 1 ? "" : "s"})\n`);
    else process.stderr.write(shown.map(formatProblem).join('\n') + `\n${shown.length} problem${shown.length === 1 ? '' : 's'} in ${file}\n`);
    return inventory ? 0 : 2;
  },
};
