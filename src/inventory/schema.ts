// JSON Schema validation (ajv) with errors turned into positioned problems a person can act on.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { PathSegment, Problem } from './problems.js';
import type { Source } from './source.js';
import { didYouMean } from './suggest.js';

export type SchemaName = 'inventory' | 'scrub' | 'runbook' | 'manifest';
export const SCHEMA_NAMES: SchemaName[] = ['inventory', 'scrub', 'runbook', 'manifest'];

const compiled = new Map<SchemaName, ValidateFunction>();

/** A schema's text and the hash that ties a validator compiled at build time to it. */
export function schemaText(name: SchemaName): { text: string; hash: string } {
  const text = readFileSync(join(packageRoot(), 'schemas', `${name}.schema.json`), 'utf8');
  return { text, hash: createHash('sha256').update(text).digest('hex') };
}

/** Ajv as ironclad uses it; `source` keeps the generated code (for `npm run build`, see scripts/compile-schemas.ts). */
export function newAjv(source = false): Ajv {
  // loaded only here: a command that finds its validators compiled ahead never loads ajv (~50 ms)
  const load = createRequire(import.meta.url);
  const ajv = new (load('ajv').default as typeof Ajv)({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source } });
  load('ajv-formats').default(ajv, ['ipv4', 'ipv6', 'hostname']);
  return ajv;
}

/** Where the build puts the validator of a schema, compiled ahead (ajv standalone code). */
export const compiledValidatorPath = (name: SchemaName) => join(packageRoot(), 'dist', 'schemas', `${name}.validate.cjs`);

/** The validator of one of the schemas in schemas/: the one compiled at build time when it was compiled from this very
 *  schema text (compiling at start-up costs ~0.1 s, every command), else compiled now. */
function validator(name: SchemaName): ValidateFunction {
  const known = compiled.get(name);
  if (known) return known;
  const { text, hash } = schemaText(name);
  let ahead: (ValidateFunction & { schemaHash?: string }) | undefined;
  try {
    ahead = createRequire(import.meta.url)(compiledValidatorPath(name));
  } catch {
    // not built yet: compiled below
  }
  const v = ahead?.schemaHash === hash ? ahead : newAjv().compile(JSON.parse(text));
  compiled.set(name, v);
  return v;
}

/** True when `data` is valid against a schema (for data from hosts, which has no source to point into). */
export function isValid(name: SchemaName, data: unknown): boolean {
  return validator(name)(data) === true;
}

/** Validate parsed data against a schema; every problem positioned in the source. */
export function schemaProblems(name: SchemaName, source: Source): Problem[] {
  const validate = validator(name);
  if (validate(source.data)) return [];
  const errors = validate.errors ?? [];
  return simplify(errors).map((e) => toProblem(e, errors, source));
}

function segments(instancePath: string): PathSegment[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** Drop the noise of failed oneOf/anyOf branches. The branch that got furthest into the value is the one the
 * author meant: its errors say what is wrong, the other branches' errors and the summary go. When no branch got
 * past the value itself, one summary message ("must be ...") replaces them all. */
function simplify(errors: ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  for (const alt of errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')) {
    const below = (e: ErrorObject) => e.instancePath.startsWith(alt.instancePath + '/');
    const depth = (e: ErrorObject) => (below(e) ? e.instancePath.slice(alt.instancePath.length).split('/').length - 1 : 0);
    const branches = new Map<string, ErrorObject[]>();
    for (const e of errors) {
      const mine = (e.instancePath === alt.instancePath || below(e)) && e.schemaPath.startsWith(alt.schemaPath + '/');
      const m = mine ? /^\/(\d+)\//.exec(e.schemaPath.slice(alt.schemaPath.length)) : null;
      if (m) branches.set(m[1], [...(branches.get(m[1]) ?? []), e]);
    }
    // errors under the value reached through a $ref of some branch (their schemaPath is the referenced definition's)
    const parentPrefix = alt.schemaPath.slice(0, alt.schemaPath.lastIndexOf('/') + 1);
    const viaRef = errors.some((e) => below(e) && !e.schemaPath.startsWith(parentPrefix));
    const wrongShape = (list: ErrorObject[]) => list.some((e) => !below(e) && ['type', 'const', 'enum'].includes(e.keyword));
    const reach = (list: ErrorObject[]) => Math.max(0, ...list.map(depth));
    const best = Math.max(0, ...[...branches.values()].map(reach));
    const winners = [...branches.values()].filter((list) => (viaRef ? !wrongShape(list) : best > 0 && reach(list) === best));
    for (const list of branches.values()) if (!winners.includes(list)) list.forEach((e) => dropped.add(e));
    if (winners.length || viaRef) dropped.add(alt);
  }
  return errors.filter((e) => !dropped.has(e) && e.keyword !== 'if' && (e.propertyName === undefined || e.keyword === 'propertyNames'));
}

/** Secret references get their own wording, and their values are never echoed. */
const isSecret = (e: ErrorObject) => e.schemaPath.startsWith('#/definitions/secret/');

function toProblem(e: ErrorObject, all: ErrorObject[], source: Source): Problem {
  const path = segments(e.instancePath);
  const p = e.params as Record<string, any>;
  const parent = (e.parentSchema ?? {}) as Record<string, any>;
  const value = valueAt(source.data, path);
  const expected = parent.description ? ` (${parent.description})` : '';
  if (path.length === 0 && (value === null || value === undefined))
    return source.problem(path, "the document is empty; it should start with 'version: 1'");
  switch (e.keyword) {
    case 'additionalProperties': {
      const known = Object.keys(parent.properties ?? {});
      const guess = didYouMean(p.additionalProperty, known);
      const hint = guess || (known.length ? ` (allowed here: ${known.join(', ')})` : '');
      return source.problem([...path, p.additionalProperty], `unknown field '${p.additionalProperty}'${hint}`, true);
    }
    case 'required':
      return source.problem([...path, p.missingProperty], `required field '${p.missingProperty}' is missing${requiredHint(p.missingProperty, parent)}`, true);
    case 'propertyNames': {
      const inner = all.find((x) => x !== e && x.instancePath === e.instancePath && x.propertyName === p.propertyName);
      const rule = (inner?.parentSchema as any)?.description;
      const detail = rule ? `is not ${rule}` : inner?.keyword === 'pattern' ? `is not a valid name here (it must match ${(inner.params as any).pattern})` : 'is not a valid name here';
      return source.problem([...path, p.propertyName], `'${p.propertyName}' ${detail}`, true);
    }
    case 'type':
      if (isSecret(e) && typeof value === 'string')
        return source.problem(path, 'a plain-text secret is not allowed: secrets never live in the inventory; write { env: NAME } (an environment variable) or { file: PATH } (a file readable only by you)');
      return source.problem(path, `must be ${parent.description ?? article(p.type)}, got ${isSecret(e) ? kind(value) : describe(value)}`);
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      return source.problem(path, `${describe(value)} is not allowed${typeof value === 'string' ? didYouMean(value, allowed) : ''}; use one of: ${allowed.join(', ')}`);
    }
    case 'const':
      return source.problem(path, `must be ${JSON.stringify(p.allowedValue)}, got ${describe(value)}${expected}`);
    case 'pattern':
      return source.problem(path, parent.description ? `${describe(value)} is not ${parent.description}` : `${describe(value)} has the wrong form (it must match ${p.pattern})`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return source.problem(path, `${describe(value)} is out of range: ${range(parent)}`);
    case 'minLength':
      return source.problem(path, p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters long`);
    case 'maxLength':
      return source.problem(path, `is longer than ${p.limit} characters`);
    case 'minItems':
      return source.problem(path, p.limit === 1 ? 'must list at least one item' : `must list at least ${p.limit} items`);
    case 'uniqueItems':
      return source.problem([...path, p.i], `${describe(valueAt(value, [p.i]))} is listed twice (items ${p.j + 1} and ${p.i + 1}); remove one`);
    case 'minProperties':
      return source.problem(path, isSecret(e) ? 'an empty secret reference: write { env: NAME } or { file: PATH }' : p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} entries`);
    case 'maxProperties':
      return source.problem(path, isSecret(e) ? 'a secret reference names one source: either env or file, not both' : `must have at most ${p.limit} entries`);
    case 'oneOf':
    case 'anyOf':
      return source.problem(path, typeof value === 'object' && value !== null ? `must be ${parent.description ?? 'one of the allowed shapes'}` : `${describe(value)} is not ${parent.description ?? 'one of the allowed shapes'}`);
    default:
      return source.problem(path, e.message ?? 'is invalid');
  }
}

function requiredHint(field: string, parent: Record<string, any>): string {
  const desc = parent.properties?.[field]?.description;
  return desc ? ` (${desc})` : '';
}

function range(schema: Record<string, any>): string {
  const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? `more than ${schema.exclusiveMinimum}` : undefined);
  const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? `less than ${schema.exclusiveMaximum}` : undefined);
  if (typeof low === 'number' && typeof high === 'number') return `must be between ${low} and ${high}`;
  if (low !== undefined) return typeof low === 'number' ? `must be at least ${low}` : `must be ${low}`;
  return typeof high === 'number' ? `must be at most ${high}` : `must be ${high}`;
}

function article(type: string | string[]): string {
  const t = Array.isArray(type) ? type.join(' or ') : type;
  const word = t === 'object' ? 'map (key: value)' : t === 'array' ? 'list' : t;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function kind(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `a ${typeof v}`;
}

/** A value as a short phrase for messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (empty)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  const text = JSON.stringify(v);
  const shown = text.length > 40 ? text.slice(0, 37) + '...' : text;
  return typeof v === 'string' ? `string ${shown}` : `${typeof v} ${shown}`;
}

/** The value at a path in plain data. */
export function valueAt(data: unknown, path: PathSegment[]): unknown {
  let v: any = data;
  for (const s of path) v = v?.[s];
  return v;
}
