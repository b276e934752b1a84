// Runs the lab's shell text on this machine through the local connector; a non-zero exit becomes an OperationError.
import { localConnector } from '../connectors/local.js';
import type { RunResult } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';

const local = localConnector('localhost');

/** The last lines of a command's output, for error messages. */
export function tail(text: string, lines = 8): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** The error for a failed lab step: which host, what it was doing, the command, the exit code and stderr's tail. */
export function labStepError(subject: string, step: string, r: RunResult): OperationError {
  const command = r.command.length > 300 ? `${r.command.slice(0, 300)}...` : r.command;
  return new OperationError(`lab ${subject}: ${step} failed (exit ${r.code})\n  command: ${command}\n  ${tail(r.stderr || r.stdout).replace(/\n/g, '\n  ')}`);
}

/** Run shell text here and return the result, whatever the exit code. */
export function runHere(script: string, stdin?: string): Promise<RunResult> {
  return local.run(script, { stdin });
}

/** Run shell text here; throw an OperationError naming `subject` (a host or the lab) and `step` when it fails. */
export async function mustRun(subject: string, step: string, script: string, stdin?: string): Promise<RunResult> {
  const r = await runHere(script, stdin);
  if (r.code !== 0) throw labStepError(subject, step, r);
  return r;
}
