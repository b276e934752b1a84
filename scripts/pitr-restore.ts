// The `pitr restore` and `pitr drill` verbs (issue #19), imported by scripts/pitr.ts.
import type { Invocation } from './cli.js';

/** `ironclad pitr restore --host H --time T|latest --to HOST [--port P] [--yes]`. */
export async function restore(_inv: Invocation): Promise<number> {
  throw new Error('pitr restore: not built yet');
}

/** `ironclad pitr drill [--host H]`. */
export async function drill(_inv: Invocation): Promise<number> {
  throw new Error('pitr drill: not built yet');
}
