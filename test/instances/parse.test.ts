// The parser of census.sh output, on outputs recorded on a lab host for every fault, and on broken output.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { CensusOutputError, parseCensus } from '../../src/instances/parse.js';

const recorded = (name: string) => readFileSync(new URL(`../fixtures/instances/recorded/${name}.out`, import.meta.url), 'utf8');

const MAIN = '/var/lib/postgresql/15/main';
const PINNED = '7711959398259769758';

const cases: { name: string; instances: [number | null, string | null, string | null][]; problems: RegExp[] }[] = [
  { name: 'clean', instances: [[5432, MAIN, '15/main']], problems: [] },
  { name: 'allowed-absent', instances: [[5432, MAIN, '15/main']], problems: [] },
  {
    name: 'second-cluster',
    instances: [[5432, MAIN, '15/main'], [5433, '/var/lib/postgresql/15/other', null]],
    problems: [/^a second PostgreSQL is running: cluster 15\/other, pid \d+ on port 5433/],
  },
  { name: 'second-cluster-down', instances: [[5432, MAIN, '15/main']], problems: [/^cluster 15\/other .* starts at the next boot/] },
  {
    name: 'copy',
    instances: [[5432, MAIN, '15/main'], [5434, '/var/lib/postgresql/copy', null]],
    problems: [/^a second PostgreSQL is running: pid \d+ on port 5434 from \/var\/lib\/postgresql\/copy .*a copy of 15\/main/],
  },
  {
    name: 'fresh-on-port',
    instances: [[5432, '/var/lib/postgresql/fresh', null]],
    problems: [/^PostgreSQL 15\/main is not running/, /^port 5432 is answered by another data directory: .* from \/var\/lib\/postgresql\/fresh/],
  },
  { name: 'stale-killed', instances: [], problems: [/^PostgreSQL 15\/main is not running/, /^a stale postmaster\.pid in \/var\/lib\/postgresql\/15\/main names pid \d+, which is not running/] },
  { name: 'stale-reused', instances: [], problems: [/^PostgreSQL 15\/main is not running/, /^a stale postmaster\.pid .* which is now another program \(sshd\)/] },
  { name: 'stopped', instances: [], problems: [/^PostgreSQL 15\/main is not running \(expected on port 5432/] },
  { name: 'reinitialized', instances: [[5432, MAIN, '15/main']], problems: [/^the system identifier of 15\/main changed: 7711959398259769758 was pinned/] },
];

for (const c of cases) {
  t.test(`recorded: ${c.name}`, async (t) => {
    const r = parseCensus(recorded(c.name));
    t.same(r.instances.map((i) => [i.port, i.data_directory, i.expected_as]), c.instances);
    t.equal(r.problems.length, c.problems.length, r.problems.join('\n'));
    c.problems.forEach((re, i) => t.match(r.problems[i], re));
    t.equal(r.expected[0]?.cluster, '15/main');
    t.ok(r.notes.some((n) => /docker is installed but 'docker ps' failed/.test(n)), 'the lab has a docker client without a daemon');
  });
}

t.test('every field of an instance and an expectation', async (t) => {
  const r = parseCensus(recorded('reinitialized'));
  t.same(r.expected, [{ cluster: '15/main', port: 5432, data_directory: MAIN, system_identifier: '7711962477439331949', pinned_identifier: PINNED, pinned_at: '2026-11-25T04:21:19Z', required: true }]);
  t.match(r.instances[0], { pid: Number, system_identifier: '7711962477439331949', cluster: '15/main', container: null, sources: ['process', 'tcp', 'unix', 'pg_lsclusters', 'pidfile'] });
  const allowed = parseCensus(recorded('allowed-absent')).expected[1];
  t.same(allowed, { cluster: '15/reports', port: 5433, data_directory: '/var/lib/postgresql/15/reports', system_identifier: null, pinned_identifier: null, pinned_at: null, required: false });
});

t.test('unknown fields are null; a container is kept in words', async (t) => {
  const r = parseCensus('instance\t-\t-\t812\t-\t-\t-\tdocker container db (image postgres:16)\tdocker\nproblem\ta PostgreSQL in a container is running\ncensus\tproblems\t1\n');
  t.same(r.instances, [{ port: null, data_directory: null, pid: 812, system_identifier: null, expected_as: null, cluster: null, container: 'docker container db (image postgres:16)', sources: ['docker'] }]);
});

t.test('output that cannot be trusted is an error, never a clean census', async (t) => {
  const clean = recorded('clean');
  const broken: [string, string, RegExp][] = [
    ['empty', '', /did not finish/],
    ['cut before the closing line', clean.split('\ncensus')[0]!, /did not finish/],
    ['problems but an ok closing line', 'problem\tx\ncensus\tok\t0\n', /closed with 'ok 0' but listed 1/],
    ['a count that disagrees', 'problem\tx\ncensus\tproblems\t2\n', /closed with 'problems 2' but listed 1/],
    ['a problems closing line and no problem', 'census\tproblems\t1\n', /listed 0/],
  ];
  for (const [name, text, re] of broken) t.throws(() => parseCensus(text), { name: 'CensusOutputError', message: re }, name);
  t.type(new CensusOutputError('x'), Error);
});

t.test('carriage returns and blank lines are tolerated', async (t) => {
  t.same(parseCensus('\r\nnote\tn\r\ncensus\tok\t0\r\n').notes, ['n']);
});
