// Shared shape of the command families: global flags, parsed options, output and exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../src/core/errors.js';
import { mask } from '../src/core/secrets.js';

export interface GlobalFlags {
  inventory?: string;
  limit?: string[];
  json: boolean;
  yes: boolean;
}

/** What a family's handler receives. */
export interface Invocation {
  words: string[]; // positionals after the family name (subcommand first where there is one)
  options: Record<string, string | boolean | undefined>;
  flags: GlobalFlags;
}

/** One command family (`backup`, `lab`, ...): its own options and a handler returning the exit code. */
export interface Family {
  name: string;
  summary: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  run(inv: Invocation): Promise<number>;
}

export const globalOptions = {
  inventory: { type: 'string', short: 'i' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  yes: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Parse argv against the global options plus a family's own; usage problems are UserErrors. */
export function parseInvocation(argv: string[], family: Family | undefined): { invocation: Invocation; help: boolean; version: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...globalOptions, ...(family?.options ?? {}) }, allowPositionals: true, strict: true });
  } catch (e: any) {
    throw new UserError(e.message.replace(/^TypeError \[.*?\]: /, ''), 'see `ironclad --help`');
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const flags: GlobalFlags = {
    inventory: v.inventory as string | undefined,
    limit: typeof v.limit === 'string' ? v.limit.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    json: Boolean(v.json),
    yes: Boolean(v.yes),
  };
  const words = parsed.positionals.slice(1);
  return { invocation: { words, options: v, flags }, help: Boolean(v.help), version: Boolean(v.version) };
}

/** Print one JSON document on stdout, every string in it masked (a step's recorded output, a host's error). */
export function printJson(value: unknown): void {
  process.stdout.write(jsonMasked(value) + '\n');
}

/** A JSON document with every string value masked before JSON escapes it (a secret holding a quote or a backslash
 *  would otherwise be spelled differently in the text and escape mask()). */
export function jsonMasked(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? mask(v) : v), 2);
}

/** A host that failed, as the families report it: its name and its (masked) error. */
export interface FailedHost {
  host: string;
  error: string;
}

/** Name each failed host on stderr, in human output and with --json alike (the exit code 1 that follows says why). */
export function reportFailedHosts(failed: FailedHost[]): void {
  for (const f of failed) {
    const line = f.error.trim().split('\n')[0];
    const first = line.startsWith(`${f.host}: `) ? line.slice(f.host.length + 2) : line;
    process.stderr.write(`ironclad: ${f.host} FAILED: ${first}\n`);
  }
}

/** The failed outcomes of a fan-out, masked, for reportFailedHosts. */
export function failedOf(outcomes: { host: string; ok: boolean; error?: Error }[]): FailedHost[] {
  return outcomes.flatMap((o) => (o.ok ? [] : [{ host: o.host, error: mask(o.error?.message ?? 'failed') }]));
}
