// Error kinds that map to the CLI's exit codes (DESIGN.md section 1).

/** Bad input from the user: usage, invalid inventory, unknown host. Exit 2. */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** An operation or a host failed. Exit 1. */
export class OperationError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'OperationError';
  }
}

/** Finished and found a problem, or refused for safety. Exit 3. */
export class SafetyRefusal extends Error {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'SafetyRefusal';
  }
}

export type IroncladError = UserError | OperationError | SafetyRefusal;

/** Exit code for anything thrown: our own errors carry one, anything else is a failure (1). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UserError || err instanceof OperationError || err instanceof SafetyRefusal) return err.exitCode;
  return 1;
}
