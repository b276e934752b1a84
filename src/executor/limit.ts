// --limit as the connection pools enforce it: a limited run contacts its hosts and no other.
import { UserError } from '../core/errors.js';

/** A step asked for a host that --limit leaves out: it was not contacted. */
export class OutsideLimit extends UserError {
  constructor(host: string, limit: ReadonlySet<string>) {
    super(`${host} is outside --limit (${[...limit].join(',')}): not contacted`, `add ${host} to --limit to include it`);
  }
}

let runLimit: ReadonlySet<string> | undefined;

/** Set once by the CLI from --limit: the hosts every pool of this process may contact (none given: any). */
export function limitConnections(names: readonly string[] | undefined): void {
  runLimit = names?.length ? new Set(names) : undefined;
}

/** The process's --limit, or undefined when every inventory host may be contacted. */
export function connectionLimit(): ReadonlySet<string> | undefined {
  return runLimit;
}
