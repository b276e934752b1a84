// Validation problems: every one names file, line, column and field path, printed as FILE:LINE:COL  path: message.
import { UserError } from '../core/errors.js';

export interface Problem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export type PathSegment = string | number;

/** `hosts.db-prod.postgres.roles[0].password` from path segments. */
export function formatPath(segments: PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += (out ? '.' : '') + (/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s));
  }
  return out || '(top)';
}

/** One line per problem, in the contract's format. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}  ${p.path}: ${p.message}`;
}

/** Problems sorted by file and position, duplicates removed. */
export function sortProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return [...problems]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.path.localeCompare(b.path))
    .filter((p) => {
      const key = formatProblem(p);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/** An invalid inventory (or scrub/runbook file): exit 2 with every problem listed. */
export class InvalidInput extends UserError {
  constructor(readonly problems: Problem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} found:\n` + sortProblems(problems).map(formatProblem).join('\n'));
    this.name = 'InvalidInput';
  }
}
