// Secret references ({env: NAME} / {file: PATH}), resolved only when needed and masked everywhere.
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { UserError } from './errors.js';

export type SecretRef = { env: string } | { file: string };

const known = new Set<string>();
export const MASK = '********';

/** True when a value has the shape of a secret reference. */
export function isSecretRef(v: unknown): v is SecretRef {
  if (typeof v !== 'object' || v === null) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (typeof (v as any).env === 'string' || typeof (v as any).file === 'string');
}

/** Human label of a reference, safe to print. */
export function describeRef(ref: SecretRef): string {
  return 'env' in ref ? `env ${ref.env}` : `file ${ref.file}`;
}

/** Resolve a reference (relative files against baseDir) and register its value for masking. */
export function resolveSecret(ref: SecretRef, baseDir: string, env: NodeJS.ProcessEnv = process.env): string {
  let value: string | undefined;
  if ('env' in ref) {
    value = env[ref.env];
    if (value === undefined || value === '')
      throw new UserError(`secret ${describeRef(ref)} is not set`, `export ${ref.env}=... before running ironclad`);
  } else {
    const path = resolvePath(baseDir, ref.file.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
    try {
      value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (e: any) {
      throw new UserError(`secret ${describeRef(ref)} cannot be read (${e.code ?? e.message})`, `create ${path} readable only by you (chmod 600)`);
    }
    if (value === '') throw new UserError(`secret ${describeRef(ref)} is empty`, `put the secret in ${path}`);
  }
  registerSecret(value);
  return value;
}

/** Remember a value so that mask() hides it in every output. */
export function registerSecret(value: string): void {
  if (value.length >= 3) known.add(value);
}

/** Replace every known secret in text by a mask; every output path goes through this. */
export function mask(text: string): string {
  let out = text;
  for (const s of [...known].sort((a, b) => b.length - a.length)) out = out.split(s).join(MASK);
  return out;
}
