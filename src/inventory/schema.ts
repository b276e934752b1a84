// JSON Schema validation (ajv) with errors turned into positioned problems a person can act on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { PathSegment, Problem } from './problems.js';
import type { Source } from './source.js';

export type SchemaName = 'inventory' | 'scrub' | 'runbook';

const compiled = new Map<SchemaName, ValidateFunction>();

/** The compiled validator of one of the schemas in schemas/. */
function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    (addFormats as unknown as typeof addFormats.default)(ajv, ['ipv4', 'ipv6', 'hostname']);
    v = ajv.compile(JSON.parse(readFileSync(join(packageRoot(), 'schemas', `${name}.schema.json`), 'utf8')));
    compiled.set(name, v);
  }
  return v;
}

/** Validate parsed data against a schema; every problem positioned in the source. */
export function schemaProblems(name: SchemaName, source: Source): Problem[] {
  const validate = validator(name);
  if (validate(source.data)) return [];
  return simplify(validate.errors ?? []).map((e) => toProblem(e, source));
}

function segments(instancePath: string): PathSegment[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Drop the noise of failed oneOf/anyOf branches: keep the deepest branch errors, or one summary message. */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  let kept = errors;
  for (const alt of alternatives) {
    const inside = (e: ErrorObject) =>
      e !== alt && e.schemaPath.startsWith(alt.schemaPath + '/') && e.instancePath.startsWith(alt.instancePath);
    const branch = kept.filter(inside);
    const deeper = branch.filter((e) => e.instancePath.length > alt.instancePath.length);
    kept = kept.filter((e) => !inside(e) || deeper.includes(e));
    if (deeper.length) kept = kept.filter((e) => e !== alt);
  }
  return kept.filter((e) => e.keyword !== 'if' && (e.propertyName === undefined || e.keyword === 'propertyNames'));
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestScore) [best, bestScore] = [c, d];
  }
  return bestScore <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function toProblem(e: ErrorObject, source: Source): Problem {
  const path = segments(e.instancePath);
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema as any)?.properties ?? {});
      const guess = closest(p.additionalProperty, known);
      const hint = guess ? ` (did you mean '${guess}'?)` : known.length ? ` (allowed: ${known.join(', ')})` : '';
      return source.problem([...path, p.additionalProperty], `unknown field '${p.additionalProperty}'${hint}`, true);
    }
    case 'required':
      return source.problem(path, `required field '${p.missingProperty}' is missing`);
    case 'propertyNames':
      return source.problem([...path, p.propertyName], `'${p.propertyName}' is not a valid name (lowercase letters, digits, '-', '_', '.')`, true);
    case 'type':
      return source.problem(path, `must be ${article(p.type)}, got ${describe(valueAt(source.data, path))}`);
    case 'enum':
      return source.problem(path, `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`);
    case 'const':
      return source.problem(path, `must be ${JSON.stringify(p.allowedValue)}`);
    case 'pattern':
      return source.problem(path, `'${valueAt(source.data, path)}' has the wrong form${(e.parentSchema as any)?.description ? ` (${(e.parentSchema as any).description})` : ''}`);
    case 'oneOf':
    case 'anyOf':
      return source.problem(path, `must be ${(e.parentSchema as any)?.description ?? 'one of the allowed shapes'}`);
    default:
      return source.problem(path, e.message ?? 'is invalid');
  }
}

function article(type: string | string[]): string {
  const t = Array.isArray(type) ? type.join(' or ') : type;
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The value at a path in plain data. */
export function valueAt(data: unknown, path: PathSegment[]): unknown {
  let v: any = data;
  for (const s of path) v = v?.[s];
  return v;
}
