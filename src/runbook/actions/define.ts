// How a runbook action adapts a typed function: its step's parameters parsed once, into one typed input that both the
// plan's description and the run use.
import { UserError } from '../../core/errors.js';
import type { Action, ActionContext } from '../types.js';

/** An action whose parameters `parse` turns into a typed input (throwing a UserError for a wrong one). */
export interface TypedAction<I> extends Omit<Action, 'describe' | 'run'> {
  parse(p: Record<string, unknown>, ctx: ActionContext): I;
  describe(input: I, ctx: ActionContext): string;
  run(input: I, ctx: ActionContext): Promise<object | void>;
}

/** The Action the engine runs, from a typed one. */
export function defineAction<I>(a: TypedAction<I>): Action {
  const { parse, describe, run, ...rest } = a;
  return {
    ...rest,
    describe: (p, ctx) => describe(parse(p, ctx), ctx),
    run: async (p, ctx) => (await run(parse(p, ctx), ctx)) as Record<string, unknown> | void,
  };
}

/** A parameter as text: undefined when absent (or null). */
export function optText(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  return v === undefined || v === null ? undefined : String(v);
}

/** A parameter as text, required. */
export function text(p: Record<string, unknown>, key: string): string {
  const v = optText(p, key);
  if (v === undefined) throw new UserError(`this step needs '${key}'`);
  return v;
}

/** A parameter as a flag: true or 'true' (a template of a boolean param resolves to either). */
export const flag = (p: Record<string, unknown>, key: string): boolean => p[key] === true || p[key] === 'true';

/** A parameter as a number, undefined when absent. */
export function optNumber(p: Record<string, unknown>, key: string): number | undefined {
  const v = p[key];
  return v === undefined || v === null ? undefined : Number(v);
}

/** A parameter that is a table of row counts (a backup's manifest), {} when absent. */
export const rowCounts = (p: Record<string, unknown>, key: string): Record<string, number> => (p[key] ?? {}) as Record<string, number>;
