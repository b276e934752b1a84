// Shared shape of the command families: global flags, parsed options, output and exit codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../src/core/errors.js';

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
} as const;

/** Parse argv against the global options plus a family's own; usage problems are UserErrors. */
export function parseInvocation(argv: string[], family: Family | undefined): { invocation: Invocation; help: boolean } {
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
  return { invocation: { words, options: v, flags }, help: Boolean(v.help) };
}

/** Print one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
