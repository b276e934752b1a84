// `{{path.to.value}}` in runbook parameters, resolved against the run's values (pure).
import { UserError } from '../core/errors.js';

const TEMPLATE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** How a template without a value is resolved: an error, `<path>` (plans), or undefined (the steps after a failure). */
export type Leniency = boolean | 'undefined';

function lookup(values: Record<string, unknown>, path: string, lenient: Leniency): unknown {
  let v: unknown = values;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || !(key in (v as object))) {
      if (lenient === 'undefined') return undefined;
      if (lenient) return `<${path}>`;
      throw new UserError(`{{${path}}} has no value here`, `known: ${Object.keys(values).join(', ')}`);
    }
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Resolve templates in any value: a string that is one template keeps the value's type; others are interpolated.
 *  `lenient` (for plans) shows a value not known yet as <path> instead of failing. */
export function resolveTemplates(value: unknown, values: Record<string, unknown>, lenient: Leniency = false): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}$/.exec(value);
    if (whole) return lookup(values, whole[1], lenient);
    return value.replace(TEMPLATE, (_, path: string) => String(lookup(values, path, lenient)));
  }
  if (Array.isArray(value)) return value.map((v) => resolveTemplates(v, values, lenient));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveTemplates(v, values, lenient)]));
  return value;
}

/** The earlier steps a value's templates read (`{{steps.NAME...}}`), for the check that inputs come from earlier steps. */
export function stepsRead(value: unknown): string[] {
  const text = JSON.stringify(value ?? null);
  return [...text.matchAll(/\{\{\s*steps\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]);
}
