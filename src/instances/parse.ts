// Pure parser of census.sh output: tab-separated records, '-' for unknown, a closing `census` line.
import type { CensusExpectation, CensusInstance, CensusReport } from './types.js';

/** Output the census cannot stand behind: cut short, or contradicting its own closing line. */
export class CensusOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CensusOutputError';
  }
}

const text = (v: string | undefined): string | null => (v === undefined || v === '' || v === '-' ? null : v);
const int = (v: string | undefined): number | null => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
const sysid = (v: string | undefined): string | null => (v !== undefined && /^\d+$/.test(v) ? v : null);

function expectation(f: string[]): CensusExpectation {
  return {
    cluster: f[1] ?? '',
    port: int(f[2]) ?? 0,
    data_directory: f[3] ?? '',
    system_identifier: sysid(f[4]),
    pinned_identifier: sysid(f[5]),
    pinned_at: text(f[6]),
    required: f[7] !== 'allowed',
  };
}

function instance(f: string[]): CensusInstance {
  const [host, target, pinnedAt] = [text(f[9]), text(f[10]), text(f[11])];
  return {
    ...(host && target && pinnedAt ? { restore_of: { host, target, pinned_at: pinnedAt } } : {}),
    port: int(f[1]),
    data_directory: text(f[2]),
    pid: int(f[3]),
    system_identifier: sysid(f[4]),
    expected_as: text(f[5]),
    cluster: text(f[6]),
    container: text(f[7]),
    sources: (text(f[8]) ?? '').split(',').filter(Boolean),
  };
}

/**
 * Parse what census.sh printed. Throws CensusOutputError when the closing `census` line is missing (the
 * census died: never read as clean) or its count disagrees with the problems listed.
 */
export function parseCensus(stdout: string): CensusReport {
  const report: CensusReport = { expected: [], instances: [], problems: [], notes: [] };
  let closing: { state: string; count: number } | null = null;
  for (const line of stdout.split('\n')) {
    const f = line.replace(/\r$/, '').split('\t');
    switch (f[0]) {
      case 'expect':
        report.expected.push(expectation(f));
        break;
      case 'instance':
        report.instances.push(instance(f));
        break;
      case 'problem':
        report.problems.push(f.slice(1).join(' '));
        break;
      case 'note':
        report.notes.push(f.slice(1).join(' '));
        break;
      case 'census':
        closing = { state: f[1] ?? '', count: int(f[2]) ?? -1 };
        break;
      default:
        break; // blank lines, anything else: not ours
    }
  }
  if (!closing) throw new CensusOutputError('the census did not finish (no closing line)');
  const expectedState = report.problems.length ? 'problems' : 'ok';
  if (closing.state !== expectedState || closing.count !== report.problems.length)
    throw new CensusOutputError(`the census closed with '${closing.state} ${closing.count}' but listed ${report.problems.length} problem(s)`);
  return report;
}
