// The routine check's settings (the inventory's images[].check, flags over them) and its human summary.
import { UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { humanBytes } from '../facts/render.js';
import type { ImagePair } from '../inventory/types.js';
import type { CheckResult, CheckSpec } from './check.js';
import { runsPerDay } from './check-plan.js';
import { parseBytes } from './coverage.js';
import { runHere } from './local-run.js';

type Options = Record<string, string | boolean | string[] | undefined>;

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--${name} must be a whole number above 0 (got '${String(value)}')`);
  return n;
}

/** The check's days, runs a day (else from its schedule) and byte budget: flags, then the pair's `check:`, then defaults. */
export function checkSpec(check: ImagePair['check'], options: Options): CheckSpec {
  const budgetText = typeof options.budget === 'string' ? options.budget : check?.budget;
  const budgetBytes = budgetText === undefined ? undefined : parseBytes(budgetText);
  if (budgetText !== undefined && !budgetBytes) throw new UserError(`the budget must be a size such as 50G or 800MB (got '${budgetText}')`);
  return { days: positive('days', options.days, check?.days ?? 30), runsPerDay: positive('runs-per-day', options['runs-per-day'], check?.runs_per_day ?? (check && runsPerDay(check.schedule)) ?? 1), budgetBytes };
}

/** Run the pair's alert command (here, where the check runs) with the summary on its stdin; a failure is a warning. */
export async function alertCheck(command: string, pair: string, summary: string, run = runHere): Promise<string | undefined> {
  const r = await run('alert', `IRONCLAD_IMAGES_PAIR=${shq(pair)}; export IRONCLAD_IMAGES_PAIR; ${command}`, { stdin: summary, timeoutMs: 60_000 });
  return r.code === 0 ? undefined : `the alert command failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
}

/** The lines the check adds under the comparison: the slice, the coverage, and a budget too small for the days. */
export function renderCheck(r: CheckResult): string {
  const slice = r.verified === 'all' ? 'every file hashed this run' : `slice ${r.verified + 1} of ${r.plan.slices} rehashed (~${humanBytes(r.plan.bytesPerRun)} a side)`;
  const out = [`routine check: ${slice}; ${r.coverage.text}`];
  if (!r.plan.withinDays) out.push(`  the budget is too small: a full cycle takes ${Math.ceil(r.plan.cycleDays)} days, more than ${r.coverage.days}; raise the budget or the runs a day`);
  return out.join('\n') + '\n';
}
