// The report of `check instances`: JSON per the CLI contract, exit codes, and the instance line.
import t from 'tap';
import type { HostOutcome } from '../../src/executor/fanout.js';
import { censusExitCode, censusJson, instanceLine, renderCensus } from '../../src/instances/report.js';
import type { CensusInstance, HostCensus } from '../../src/instances/types.js';

const main: CensusInstance = { port: 5432, data_directory: '/var/lib/postgresql/15/main', pid: 812, system_identifier: '7311', expected_as: '15/main', cluster: '15/main', container: null, sources: ['process', 'tcp'] };
const rogue: CensusInstance = { ...main, port: 5433, pid: 900, data_directory: '/tmp/copy', expected_as: null, cluster: null };
const census = (host: string, instances: CensusInstance[], problems: string[]): HostOutcome<HostCensus> => ({
  host,
  ok: true,
  value: { host, ok: problems.length === 0, instances, problems, notes: ['a note'], expected: [], durationMs: 5 },
});
const failed: HostOutcome<HostCensus> = { host: 'gone', ok: false, error: new Error('gone: cannot connect') };

t.test('exit codes: 0 clean, 3 on any problem, 1 when a host could not be checked', async (t) => {
  const cases: [string, HostOutcome<HostCensus>[], number][] = [
    ['all clean', [census('a', [main], [])], 0],
    ['a problem', [census('a', [main], []), census('b', [main, rogue], ['a second PostgreSQL is running'])], 3],
    ['unreachable beats problems', [census('b', [main, rogue], ['x']), failed], 1],
  ];
  for (const [name, outcomes, code] of cases) t.equal(censusExitCode(outcomes), code, name);
});

t.test('json: host, ok, instances, problems (plus notes, expected, error)', async (t) => {
  t.same(censusJson([census('b', [main, rogue], ['p']), failed]), {
    hosts: [
      { host: 'b', ok: false, instances: [main, rogue], problems: ['p'], notes: ['a note'], expected: [] },
      { host: 'gone', ok: false, instances: [], problems: [], notes: [], expected: [], error: 'gone: cannot connect' },
    ],
  });
});

t.test('instance lines say what each instance is', async (t) => {
  const cases: [CensusInstance, RegExp][] = [
    [main, /^port 5432  pid 812  \/var\/lib\/postgresql\/15\/main  system identifier 7311  15\/main \(expected\)  seen by process, tcp$/],
    [rogue, /NOT IN THE INVENTORY/],
    [{ ...rogue, cluster: '15/other' }, /cluster 15\/other, NOT IN THE INVENTORY/],
    [{ ...rogue, container: 'docker container db (image postgres:16)', port: null, pid: null, data_directory: null, system_identifier: null, sources: [] }, /^port \?  pid \?  data directory unknown  system identifier unknown  in docker container db \(image postgres:16\)  seen by nothing$/],
  ];
  for (const [i, re] of cases) t.match(instanceLine(i), re);
  t.match(renderCensus([census('a', [], ['x'])]), /a: 1 PROBLEM\n {4}no PostgreSQL running\n {2}! x\n {4}note: a note\n/);
  t.match(renderCensus([failed]), /^gone: FAILED  gone: cannot connect\ncheck instances: 1 host: 0 clean, 1 could not be checked$/);
});
