// What a person sees of a command's output: its last lines, indented, secrets masked.
import { mask } from '../core/secrets.js';

/** The last lines of output, indented, masked. */
export function tail(text: string, lines = 8): string {
  return mask(text.trimEnd().split('\n').slice(-lines).map((l) => `  | ${l}`).join('\n'));
}
