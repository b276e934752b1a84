// Confirmations: --yes answers them; without it a terminal is asked, and no terminal means no.
import { createInterface } from 'node:readline/promises';

/** True when the user confirmed: `--yes`, or typing `expected` (default "yes") on a terminal. Never implied without a TTY. */
export async function confirm(question: string, opts: { yes: boolean; expected?: string }): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY) return false;
  const expected = opts.expected ?? 'yes';
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} Type '${expected}' to continue: `);
    return answer.trim() === expected;
  } finally {
    rl.close();
  }
}
