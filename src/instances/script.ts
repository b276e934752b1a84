// census.sh, the one place where the single-instance rules live, as text to send to a host or embed in a job, with
// lsclusters.sh (the facts' reader of postgresql-common's clusters) put in at its marker line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { lsclustersShell } from '../facts/lsclusters.js';
import type { ExpectedCluster } from './types.js';
import { censusArgLine } from './expect.js';

/** Path of census.sh in the package (shipped as source: the same file from src/ and from dist/); it runs only once
 *  composed (censusScript), which puts lsclusters.sh at its marker line. */
export function censusScriptPath(): string {
  return join(packageRoot(), 'src', 'instances', 'census.sh');
}

let cached: string | undefined;

const MARKER = /^# @lsclusters: .*$/m;

/** The census as it runs: census.sh with lsclusters.sh in place of its marker line. */
export function censusScript(): string {
  if (cached) return cached;
  const text = readFileSync(censusScriptPath(), 'utf8');
  if (!MARKER.test(text)) throw new Error(`${censusScriptPath()}: the '# @lsclusters:' marker line is missing`);
  return (cached = text.replace(MARKER, () => lsclustersShell().trimEnd()));
}

/** Shell text that runs the census under POSIX sh with its script on stdin: one round trip, no file left behind. */
export function censusInvocation(expected: ExpectedCluster[]): { script: string; stdin: string } {
  const args = censusArgLine(expected);
  return { script: `sh -s --${args ? ` ${args}` : ''}`, stdin: censusScript() };
}
