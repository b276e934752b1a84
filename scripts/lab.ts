// `ironclad lab up|down|status`: a practice estate of real hosts on this machine (DESIGN.md section 5).
import { join } from 'node:path';
import { UserError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { loadInventory } from '../src/inventory/load.js';
import { ensureBase } from '../src/lab/base.js';
import { labUp } from '../src/lab/build.js';
import { labDown } from '../src/lab/down.js';
import { planLab, selectLabHosts } from '../src/lab/plan.js';
import { formatDown, formatStatus, formatUp } from '../src/lab/report.js';
import { observeLab } from '../src/lab/status.js';
import { printJson, type Family } from './cli.js';

/** The lab inventory shipped with ironclad, used when -i is not given. */
export function defaultLabInventory(): string {
  return join(packageRoot(), 'inventory', 'lab.yaml');
}

const subcommands = ['up', 'down', 'status', 'base'] as const;
type Subcommand = (typeof subcommands)[number];

function subcommand(words: string[]): Subcommand {
  const [word, ...rest] = words;
  if (!subcommands.includes(word as Subcommand) || rest.length)
    throw new UserError(`usage: ironclad lab up|down|status|base${word ? ` (got '${words.join(' ')}')` : ''}`, 'e.g. `ironclad lab up`');
  return word as Subcommand;
}

function requireRoot(): void {
  if (process.platform !== 'linux' || process.getuid?.() !== 0)
    throw new UserError('the lab needs root on Linux (network namespaces, overlay mounts)', 'run it as root, e.g. `sudo ironclad lab up`');
}

/** The `lab` command family: up | down [--keep-disks] | status, for the whole lab or --limit hosts; base [--refresh]. */
export const labFamily: Family = {
  name: 'lab',
  summary: 'lab up | lab down [--keep-disks] | lab status | lab base [--refresh]: a practice estate of real hosts on this machine',
  options: { 'keep-disks': { type: 'boolean' }, refresh: { type: 'boolean' } },
  async run({ words, options, flags }) {
    const sub = subcommand(words);
    const progress = (line: string) => void (flags.json ? undefined : process.stderr.write(`${line}\n`));
    if (sub === 'base') {
      requireRoot();
      const r = await ensureBase({ refresh: Boolean(options.refresh), progress });
      const removed = r.removed.map((d) => `removed the unused base ${d}\n`).join('');
      const text = `${r.action === 'none' ? 'base tree is ready' : `base tree ${r.action} in ${(r.durationMs / 1000).toFixed(1)}s`}: ${r.dir}\n${removed}`;
      if (flags.json) printJson(r);
      else process.stdout.write(text);
      return 0;
    }
    const plan = planLab(loadInventory(flags.inventory ?? defaultLabInventory()));
    const hosts = selectLabHosts(plan, flags.limit);
    requireRoot();
    const show = (value: unknown, text: string) => (flags.json ? printJson(value) : process.stdout.write(text));
    switch (sub) {
      case 'up': {
        const r = await labUp(plan, flags.limit, { progress });
        show(r, formatUp(r));
        return 0;
      }
      case 'down': {
        const r = await labDown(plan, { names: flags.limit, keepDisks: Boolean(options['keep-disks']) });
        show(r, formatDown(r));
        return 0;
      }
      case 'status': {
        const s = await observeLab(plan, hosts);
        show(s, formatStatus(s));
        return s.hosts.every((h) => h.state === 'up') ? 0 : 3;
      }
    }
  },
};
