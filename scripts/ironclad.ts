#!/usr/bin/env node
// The ironclad CLI: finds the command family, parses flags, maps errors to exit codes (0 ok, 1 failed, 2 bad input, 3 problem/refused).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeOf, UserError } from '../src/core/errors.js';
import { packageRoot } from '../src/core/paths.js';
import { mask } from '../src/core/secrets.js';
import { timeoutsText } from '../src/core/timeouts.js';
import { limitConnections } from '../src/executor/limit.js';
import { parseInvocation, type Family } from './cli.js';
import { allFamilies, familyNames, loadFamily } from './families.js';

const usage = async () => `usage: ironclad [-i FILE] [--limit HOST,...] [--json] [--yes] COMMAND

${(await allFamilies()).map((f) => `  ${f.name.padEnd(10)} ${f.summary}`).join('\n')}

  -i FILE     inventory (default: $IRONCLAD_INVENTORY, else ./inventory/inventory.yaml)
  --limit     only these hosts: no other host is contacted
  --json      one JSON document on stdout
  --yes       answer yes to confirmations (refused when stdin is not a terminal)
  -V, --version   the version of ironclad
hosts: each host's outcome is its own: one that cannot be reached or fails is reported (its error in --json)
  and the others go on; the command then exits 1 naming it, and a later run converges it.
${timeoutsText()}
exit codes: 0 done, 1 failed, 2 bad input, 3 problem found or refused for safety`;

/** The version in ironclad's package.json. */
export function version(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}

/** Run the CLI and return the exit code. */
export async function main(argv: string[]): Promise<number> {
  const name = argv.find((a, i) => !a.startsWith('-') && !(i > 0 && ['-i', '--inventory', '--limit'].includes(argv[i - 1])));
  try {
    if (!name) {
      const { help, version: wantsVersion } = parseInvocation(argv, undefined);
      if (wantsVersion) {
        process.stdout.write(`${version()}\n`);
        return 0;
      }
      process.stdout.write((await usage()) + '\n');
      return help ? 0 : 2;
    }
    const family: Family | undefined = familyNames.includes(name) ? await loadFamily(name) : undefined;
    if (!family) throw new UserError(`unknown command '${name}'`, 'see `ironclad --help`');
    const { invocation, help, version: wantsVersion } = parseInvocation(argv, family);
    if (wantsVersion) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    limitConnections(invocation.flags.limit);
    if (help) {
      process.stdout.write(`ironclad ${family.name}: ${family.summary}\n`);
      return 0;
    }
    return await family.run(invocation);
  } catch (err) {
    reportError(err);
    return exitCodeOf(err);
  }
}

/** One clear message on stderr, no stack trace unless IRONCLAD_DEBUG is set. */
function reportError(err: unknown): void {
  const e = err as Error & { hint?: string };
  let text = `ironclad: ${e?.message ?? String(err)}`;
  if (e?.hint) text += `\n  ${e.hint}`;
  if (process.env.IRONCLAD_DEBUG && e?.stack) text += `\n${e.stack}`;
  process.stderr.write(mask(text) + '\n');
}

process.exitCode = await main(process.argv.slice(2));
