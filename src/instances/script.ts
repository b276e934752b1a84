// census.sh, the one place where the single-instance rules live, as text to send to a host or embed in a job.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import type { ExpectedCluster } from './types.js';
import { censusArgLine } from './expect.js';

/** Path of the census script in the package (shipped as source: the same file from src/ and from dist/). */
export function censusScriptPath(): string {
  return join(packageRoot(), 'src', 'instances', 'census.sh');
}

let cached: string | undefined;

/** The text of census.sh. */
export function censusScript(): string {
  return (cached ??= readFileSync(censusScriptPath(), 'utf8'));
}

/** Shell text that runs the census under POSIX sh with its script on stdin: one round trip, no file left behind. */
export function censusInvocation(expected: ExpectedCluster[]): { script: string; stdin: string } {
  const args = censusArgLine(expected);
  return { script: `sh -s --${args ? ` ${args}` : ''}`, stdin: censusScript() };
}
