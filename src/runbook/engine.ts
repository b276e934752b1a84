// The runbook engine: plan (--dry-run), confirm destructive steps, run with a journal, stop at a failure, resume.
import { confirm } from '../core/confirm.js';
import { SafetyRefusal, UserError, exitCodeOf } from '../core/errors.js';
import { mask } from '../core/secrets.js';
import { selectHosts } from '../inventory/load.js';
import { tail } from '../connectors/output.js';
import { completedSteps, newRunId, readJournal, record } from './journal.js';
import { resolveTemplates } from './template.js';
import type { Action, ActionContext, FailureStepSpec, Runbook, StepSpec } from './types.js';

export interface RunOptions {
  runbook: Runbook;
  actions: Map<string, Action>;
  ctx: Omit<ActionContext, 'runId' | 'values' | 'log'>;
  params: Record<string, unknown>;
  /** Values every step can use besides params and earlier outputs (e.g. the refresh spec). */
  context?: Record<string, unknown>;
  dryRun: boolean;
  resume?: string;
  /** How the operator resumes (default: ironclad runbook run FILE); the run id is appended. */
  resumeCommand?: string;
  out: (line: string) => void;
  /** Told the run's id as soon as it is known (not for a dry run). */
  started?: (runId: string) => void;
}

function isDestructive(step: StepSpec, actions: Map<string, Action>): boolean {
  return step.destructive ?? (step.action ? actions.get(step.action)?.destructive ?? false : false);
}

function describe(step: StepSpec, params: Record<string, unknown>, actions: Map<string, Action>, ctx: ActionContext): string {
  if (step.shell) return `on ${String(resolveTemplates(step.host, ctx.values, true))}: ${String(resolveTemplates(step.shell, ctx.values, true))}`;
  try {
    return actions.get(step.action!)!.describe(params, ctx);
  } catch {
    return `${step.action} (its inputs come from earlier steps)`;
  }
}

/** Run (or, with dryRun, print) a runbook; returns the exit code. */
export async function runRunbook(o: RunOptions): Promise<number> {
  const { runbook, actions, out } = o;
  const previous = o.resume ? readJournal(o.resume) : [];
  if (o.resume && previous[0]?.kind === 'run' && previous[0].runbook !== runbook.name)
    throw new UserError(`run ${o.resume} is of runbook '${previous[0].runbook}', not '${runbook.name}'`);
  const runId = o.resume ?? newRunId(runbook.name);
  const params = { ...runbook.params, ...(previous[0]?.kind === 'run' ? previous[0].params : {}), ...o.params };
  const done = completedSteps(previous);
  const resumeWith = o.resumeCommand ?? `ironclad runbook run ${runbook.file} --resume`;
  const tailLines: string[] = [];
  const ctx: ActionContext = {
    ...o.ctx,
    runId,
    values: { ...(o.context ?? {}), params, steps: Object.fromEntries(done), run: { id: runId } },
    log: (line) => {
      const l = mask(line);
      tailLines.push(l);
      out(`    ${l}`);
    },
  };
  if (o.dryRun) {
    out(`${runbook.name}: ${runbook.description} (dry run: nothing is changed)`);
    runbook.steps.forEach((s, i) => {
      const p = s.with ? safeResolve(s.with, ctx.values) : {};
      out(`  ${i + 1}. ${s.name}${isDestructive(s, actions) ? `  [destructive: needs confirmation] (type '${String(resolveTemplates(s.confirm ?? p.host ?? s.host ?? 'yes', ctx.values, true))}', or --yes)` : ''}\n       ${describe(s, p, actions, ctx)}`);
    });
    for (const s of runbook.on_failure ?? []) out(`  on failure in ${s.when.join(', ')}: ${s.name}\n       ${describe(s, s.with ? safeResolve(s.with, ctx.values) : {}, actions, ctx)}`);
    return 0;
  }
  if (!o.resume) record(runId, { kind: 'run', runId, runbook: runbook.name, file: runbook.file, params, started: new Date().toISOString() });
  o.started?.(runId);
  out(`${runbook.name}: run ${runId}${o.resume ? ` resumed (${done.size} steps already done)` : ''}`);
  let current: { step: StepSpec; index: number; start: string } | undefined;
  let interrupted = false;
  let cleaning: Promise<void> | undefined;
  const cleanUp = (failed: string) => (cleaning ??= runOnFailure(o, ctx, runId, failed));
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    if (current) record(runId, { kind: 'step', step: current.step.name, index: current.index, start: current.start, end: new Date().toISOString(), outcome: 'interrupted', output: {}, tail: tailLines.slice(-20) });
    const failed = current?.step.name;
    out(`\ninterrupted${failed ? ` during step '${failed}'` : ''}`);
    // what the run made is cleaned up before the process ends (at most 2 minutes), as after a failure
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, 120_000).unref());
    void Promise.race([failed ? cleanUp(failed) : Promise.resolve(), deadline]).finally(() => {
      record(runId, { kind: 'end', outcome: 'interrupted', at: new Date().toISOString() });
      process.stdout.write(`Resume with: ${resumeWith} ${runId}\n`);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [index, step] of runbook.steps.entries()) {
      if (done.has(step.name) && !(step.action && actions.get(step.action)?.rerunOnResume)) {
        out(`  ${index + 1}. ${step.name}: already done`);
        continue;
      }
      current = { step, index, start: new Date().toISOString() };
      tailLines.length = 0;
      out(`  ${index + 1}. ${step.name}${step.description ? `: ${step.description}` : ''}`);
      try {
        const p = (step.with ? resolveTemplates(step.with, ctx.values) : {}) as Record<string, unknown>;
        if (isDestructive(step, actions)) await confirmStep(step, p, o, ctx);
        const output = (await runStep(step, p, actions, ctx)) ?? {};
        (ctx.values.steps as Record<string, unknown>)[step.name] = output;
        record(runId, { kind: 'step', step: step.name, index, start: current.start, end: new Date().toISOString(), outcome: 'done', output, tail: tailLines.slice(-20) });
      } catch (err) {
        if (interrupted) await new Promise(() => undefined); // the signal's handler records, cleans up and ends the process
        const e = err as Error;
        record(runId, { kind: 'step', step: step.name, index, start: current.start, end: new Date().toISOString(), outcome: 'failed', output: {}, tail: tailLines.slice(-20), error: mask(e.message) });
        record(runId, { kind: 'end', outcome: 'failed', at: new Date().toISOString() });
        out(`\nstep '${step.name}' ${exitCodeOf(e) === 3 ? 'REFUSED' : 'FAILED'}: ${mask(e.message)}`);
        await cleanUp(step.name);
        const redo = runbook.steps.find((s) => !completedSteps(readJournal(runId)).has(s.name))?.name ?? step.name;
        out(`The steps before '${redo}' are done and recorded. Fix the cause, then resume from '${redo}':\n  ${resumeWith} ${runId}`);
        return exitCodeOf(e);
      }
    }
    current = undefined;
    record(runId, { kind: 'end', outcome: 'done', at: new Date().toISOString() });
    out(`${runbook.name}: done (run ${runId})`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The runbook's on_failure steps for a failure (or interruption) in step `failed`: each runs when `failed` is one of
 *  its `when`, its failure reported and the next one still run; the steps it undoes are recorded as not done. */
async function runOnFailure(o: RunOptions, ctx: ActionContext, runId: string, failed: string): Promise<void> {
  const steps = (o.runbook.on_failure ?? []).filter((s: FailureStepSpec) => s.when.includes(failed));
  for (const step of steps) {
    const start = new Date().toISOString();
    o.out(`  on failure: ${step.name}${step.description ? `: ${step.description}` : ''}`);
    try {
      const p = (step.with ? resolveTemplates(step.with, ctx.values, 'undefined') : {}) as Record<string, unknown>;
      await runStep(step, p, o.actions, ctx);
    } catch (err) {
      o.out(`  on failure: ${step.name} FAILED: ${mask((err as Error).message)}`);
    }
    for (const name of step.undoes ?? []) {
      delete (ctx.values.steps as Record<string, unknown>)[name];
      record(runId, { kind: 'step', step: name, index: o.runbook.steps.findIndex((s) => s.name === name), start, end: new Date().toISOString(), outcome: 'undone', output: {}, tail: [`undone by ${step.name} after '${failed}' failed`] });
    }
  }
}

function safeResolve(w: Record<string, unknown>, values: Record<string, unknown>): Record<string, unknown> {
  return resolveTemplates(w, values, true) as Record<string, unknown>;
}

async function confirmStep(step: StepSpec, params: Record<string, unknown>, o: RunOptions, ctx: ActionContext): Promise<void> {
  const expected = String(resolveTemplates(step.confirm ?? params.host ?? step.host ?? 'yes', ctx.values));
  const ok = await confirm(`Step '${step.name}' is destructive: ${describe(step, params, o.actions, ctx)}.`, { yes: o.ctx.flags.yes, expected });
  if (!ok) throw new SafetyRefusal(`confirmation declined for destructive step '${step.name}' (type '${expected}', or pass --yes; without a terminal --yes is required)`);
}

async function runStep(step: StepSpec, params: Record<string, unknown>, actions: Map<string, Action>, ctx: ActionContext): Promise<Record<string, unknown> | void> {
  if (step.action) return actions.get(step.action)!.run(params, ctx);
  const hostName = String(resolveTemplates(step.host, ctx.values));
  const [host] = selectHosts(ctx.inv, [hostName]);
  const script = String(resolveTemplates(step.shell, ctx.values));
  const r = await (await ctx.pool.get(host)).run(script);
  r.stdout.trimEnd().split('\n').filter(Boolean).slice(-20).forEach((l) => ctx.log(l));
  if (r.code !== 0) throw new Error(`${host.name}: exit ${r.code}\n${tail(r.stderr || r.stdout)}`);
  return { stdout: r.stdout.trimEnd() };
}
