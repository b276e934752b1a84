// The runbook engine: plan (--dry-run), confirm destructive steps, run with a journal, stop at a failure, resume.
import { confirm } from '../core/confirm.js';
import { SafetyRefusal, UserError, exitCodeOf } from '../core/errors.js';
import { mask } from '../core/secrets.js';
import { selectHosts } from '../inventory/load.js';
import { tail } from '../executor/run.js';
import { completedSteps, newRunId, readJournal, record } from './journal.js';
import { resolveTemplates } from './template.js';
import type { Action, ActionContext, Runbook, StepSpec } from './types.js';

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
      out(`  ${i + 1}. ${s.name}${isDestructive(s, actions) ? '  [destructive: needs confirmation]' : ''}\n       ${describe(s, p, actions, ctx)}`);
    });
    return 0;
  }
  if (!o.resume) record(runId, { kind: 'run', runId, runbook: runbook.name, file: runbook.file, params, started: new Date().toISOString() });
  out(`${runbook.name}: run ${runId}${o.resume ? ` resumed (${done.size} steps already done)` : ''}`);
  let current: { step: StepSpec; index: number; start: string } | undefined;
  const onSignal = () => {
    if (current) record(runId, { kind: 'step', step: current.step.name, index: current.index, start: current.start, end: new Date().toISOString(), outcome: 'interrupted', output: {}, tail: tailLines.slice(-20) });
    record(runId, { kind: 'end', outcome: 'interrupted', at: new Date().toISOString() });
    process.stdout.write(`\ninterrupted${current ? ` during step '${current.step.name}'` : ''}. Resume with: ${resumeWith} ${runId}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [index, step] of runbook.steps.entries()) {
      if (done.has(step.name)) {
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
        const e = err as Error;
        record(runId, { kind: 'step', step: step.name, index, start: current.start, end: new Date().toISOString(), outcome: 'failed', output: {}, tail: tailLines.slice(-20), error: mask(e.message) });
        record(runId, { kind: 'end', outcome: 'failed', at: new Date().toISOString() });
        out(`\nstep '${step.name}' ${exitCodeOf(e) === 3 ? 'REFUSED' : 'FAILED'}: ${mask(e.message)}`);
        out(`The steps before it are done and recorded. Fix the cause, then resume from this step:\n  ${resumeWith} ${runId}`);
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
