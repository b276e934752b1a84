// `ironclad runbook run|list|show` and `ironclad refresh NAME`: runbooks with a journal, dry-run and resume.
import { join } from 'node:path';
import { SafetyRefusal, UserError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { withPool } from '../src/executor/pool.js';
import { inventoryFile, loadInventory } from '../src/inventory/load.js';
import { InvalidInput } from '../src/inventory/problems.js';
import { ACTIONS } from '../src/runbook/actions.js';
import { lockRunTarget } from '../src/runbook/actions/refresh.js';
import { runRunbook } from '../src/runbook/engine.js';
import { listRuns, readJournal, runSummary, stateDir } from '../src/runbook/journal.js';
import { loadRunbook } from '../src/runbook/load.js';
import { type Family, type Invocation, printJson } from './cli.js';

const out = (line: string) => process.stdout.write(line + '\n');

function setParams(values: unknown): Record<string, string> {
  const params: Record<string, string> = {};
  for (const s of (values as string[] | undefined) ?? []) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new UserError(`--set ${s}: use --set NAME=VALUE`);
    params[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return params;
}

/** Load the inventory; for a refresh, an inventory whose only problem is a production target is a refusal (exit 3). */
function inventoryFor(inv: Invocation, refresh: boolean) {
  try {
    return loadInventory(inventoryFile(inv.flags.inventory));
  } catch (e) {
    if (refresh && e instanceof InvalidInput && e.problems.every((p) => /tagged production/.test(p.message)))
      throw new SafetyRefusal(`refusing the refresh: ${e.problems.map((p) => p.message).join('; ')}`);
    throw e;
  }
}

async function execute(inv: Invocation, file: string, params: Record<string, unknown>, refresh = false, resumeCommand?: string): Promise<number> {
  const inventory = inventoryFor(inv, refresh);
  const runbook = loadRunbook(file, ACTIONS);
  // --json: the progress on stderr, then one JSON document on stdout, the run's steps with their outputs
  const json = inv.flags.json && !inv.options['dry-run'];
  let runId: string | undefined;
  const code = await withPool(async (pool) => {
    // one run into a target database at a time (the staging refresh; restore-production with --set target, database)
    if (!inv.options['dry-run']) await lockRunTarget(inventory, pool, params);
    return runRunbook({
      runbook,
      actions: ACTIONS,
      ctx: { inv: inventory, pool, flags: { yes: inv.flags.yes, json: inv.flags.json } },
      params,
      dryRun: Boolean(inv.options['dry-run']),
      resume: inv.options.resume as string | undefined,
      resumeCommand,
      out: json ? (line) => process.stderr.write(line + '\n') : out,
      started: (id) => (runId = id),
    });
  });
  if (json && runId) printJson(runSummary(runId, readJournal(runId), code));
  return code;
}

export const runbookFamily: Family = {
  name: 'runbook',
  summary: 'runbook run FILE [--resume RUN_ID] [--dry-run] [--set NAME=VALUE] | runbook list | runbook show FILE',
  options: { resume: { type: 'string' }, 'dry-run': { type: 'boolean' }, set: { type: 'string', multiple: true } },
  async run(inv) {
    const [sub, file] = inv.words;
    switch (sub) {
      case 'run':
        if (!file) throw new UserError('runbook run needs a FILE', 'e.g. ironclad runbook run runbooks/provision-server.yaml --dry-run');
        return execute(inv, file, setParams(inv.options.set));
      case 'show': {
        if (!file) throw new UserError('runbook show needs a FILE');
        const rb = loadRunbook(file, ACTIONS);
        if (inv.flags.json) printJson(rb);
        else {
          out(`${rb.name}: ${rb.description}\nparams: ${Object.entries(rb.params).map(([k, v]) => `${k}=${String(v)}`).join(', ') || 'none'}`);
          rb.steps.forEach((s, i) => out(`  ${i + 1}. ${s.name}: ${s.action ?? `shell on ${s.host}`}${s.destructive || ACTIONS.get(s.action ?? '')?.destructive ? ' [destructive]' : ''}${s.description ? ` (${s.description})` : ''}`));
          for (const s of rb.on_failure ?? []) out(`  on failure in ${s.when.join(', ')}: ${s.name}: ${s.action ?? `shell on ${s.host}`}${s.description ? ` (${s.description})` : ''}`);
        }
        return 0;
      }
      case 'list': {
        const runs = listRuns();
        if (inv.flags.json) printJson({ state_dir: stateDir(), runs });
        else if (!runs.length) out(`no runs in ${stateDir()}`);
        else for (const r of runs) out(`${r.runId}  ${r.outcome.padEnd(11)}  ${r.lastStep ?? ''}`);
        return 0;
      }
      default:
        throw new UserError(`unknown runbook command '${sub ?? ''}'`, 'use: runbook run FILE | runbook list | runbook show FILE');
    }
  },
};

export const refreshFamily: Family = {
  name: 'refresh',
  summary: 'refresh NAME [--from ID] [--dry-run] [--resume RUN_ID] [--swap-back] [--keep-failed]: the staging-refresh runbook',
  options: { from: { type: 'string' }, resume: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'swap-back': { type: 'boolean' }, 'keep-failed': { type: 'boolean' } },
  async run(inv) {
    const [name] = inv.words;
    if (!name) throw new UserError('refresh needs the name of a refresh: section', 'e.g. ironclad refresh staging');
    const book = inv.options['swap-back'] ? 'staging-swap-back.yaml' : 'staging-refresh.yaml';
    const params: Record<string, unknown> = { refresh: name };
    if (inv.options.from) params.from = inv.options.from;
    if (inv.options['keep-failed']) params.keep_failed = true;
    const resumeCommand = `ironclad${inv.flags.inventory ? ` -i ${inv.flags.inventory}` : ''} refresh ${name}${inv.options['swap-back'] ? ' --swap-back' : ''} --resume`;
    return execute(inv, join(packageRoot(), 'runbooks', book), params, true, resumeCommand);
  },
};
