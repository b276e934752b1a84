// The executor: the only code that runs Commands, through a connector; a failure names host, command, exit code and stderr tail.
import { describeCommand, toShell, type Command } from '../core/command.js';
import { OperationError } from '../core/errors.js';
import { tail } from '../connectors/output.js';
import type { Connector, RunResult } from '../connectors/types.js';

/** A command that exited non-zero, with everything a person needs to see (masked). */
export class RemoteFailure extends OperationError {
  constructor(readonly result: RunResult) {
    super(`${result.host}: command failed (exit ${result.code}): ${firstLine(result.command)}\n${tail(result.stderr || result.stdout)}`);
  }
}

function firstLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines.length > 1 ? `${lines[0]} ...` : lines[0];
}

/** Run one command; returns the result, throwing RemoteFailure on a non-zero exit unless `allowFailure`. */
export async function runCommand(conn: Connector, cmd: Command, allowFailure = false): Promise<RunResult> {
  const { script, stdin } = toShell(cmd);
  const result = await conn.run(script, { stdin });
  const shown = { ...result, command: describeCommand(cmd) };
  if (result.code !== 0 && !allowFailure) throw new RemoteFailure(shown);
  return shown;
}

/** Run commands in order, stopping at the first failure. */
export async function runCommands(conn: Connector, cmds: Command[]): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const cmd of cmds) results.push(await runCommand(conn, cmd));
  return results;
}

/** Consecutive SQL commands for the same server and database joined into one (one su and one psql instead of one
 *  each), in the same order; ON_ERROR_STOP still stops at the first failing statement. */
export function joinSql(cmds: Command[]): Command[] {
  const out: Command[] = [];
  for (const cmd of cmds) {
    const last = out[out.length - 1];
    if (cmd.kind === 'sql' && last?.kind === 'sql' && last.port === cmd.port && (last.database ?? 'postgres') === (cmd.database ?? 'postgres'))
      out[out.length - 1] = { ...last, sql: `${last.sql.replace(/\n?$/, '\n')}${cmd.sql}` };
    else out.push(cmd);
  }
  return out;
}

/** Run shell text and return stdout, throwing RemoteFailure on a non-zero exit. */
export async function sh(conn: Connector, script: string, stdin?: string): Promise<string> {
  return (await runCommand(conn, { kind: 'sh', script, stdin })).stdout;
}
