// The clusters fact's parsers: lsclusters.sh's lines (its command: test/facts/lsclusters.test.ts), and pg_lsclusters'
// own table and JSON, which the recorded fixtures hold.
import t from 'tap';
import { clustersFact, mergeClusters, parseClusterJson, parseClusterTable, parsePasswd, splitPaths } from '../../src/facts/clusters.js';
import { fixture, section } from '../fixtures/facts/load.js';

const main15 = { version: 15, cluster: 'main', port: 5432, owner: 'postgres', data_directory: '/var/lib/postgresql/15/main', log_file: '/var/log/postgresql/postgresql-15-main.log' };

t.test('plain table rows', async (t) => {
  const cases = [
    { name: 'recorded, down', text: fixture('pg_lsclusters-down.txt'), want: [{ ...main15, status: 'down', flags: [], config_directory: null, start: null }] },
    { name: 'recorded, online', text: fixture('pg_lsclusters-online.txt'), want: [{ ...main15, status: 'online', flags: [], config_directory: null, start: null }] },
    { name: 'header line skipped', text: 'Ver Cluster Port Status Owner    Data directory              Log file\n', want: [] },
    { name: 'empty (no clusters)', text: '', want: [] },
  ];
  for (const c of cases) t.same(parseClusterTable(c.text), c.want, c.name);
});

t.test('hand-made table: two versions, down, recovery, spaces, unknown owner, relative and syslog logs', async (t) => {
  const rows = parseClusterTable(fixture('pg_lsclusters-variants.txt'));
  t.same(
    rows.map((r) => [`${r.version}/${r.cluster}`, r.port, r.status, r.flags, r.owner, r.data_directory, r.log_file]),
    [
      ['15/main', 5432, 'online', [], 'postgres', '/var/lib/postgresql/15/main', '/var/log/postgresql/postgresql-15-main.log'],
      ['16/reports', 5433, 'down', [], 'postgres', '/srv/pg data/16/reports', '/var/log/postgresql/postgresql-16-reports.log'],
      ['16/replica', 5434, 'online', ['recovery'], 'postgres', '/var/lib/postgresql/16/replica', 'log/postgresql-%Y-%m-%d_%H%M%S.log'],
      ['17/ghost', 5435, 'down', ['binaries_missing'], null, '/var/lib/postgresql/17/ghost', 'syslog'],
    ],
  );
});

t.test('splitting data directory from log destination', async (t) => {
  const cases: [string, [string | null, string | null]][] = [
    ['/a/b /var/log/x.log', ['/a/b', '/var/log/x.log']],
    ['/srv/my data /var/log/x.log', ['/srv/my data', '/var/log/x.log']],
    ['/a/b    log/pg.log', ['/a/b', 'log/pg.log']],
    ['/a/b', ['/a/b', null]],
    ['<unknown> /var/log/x.log', [null, '/var/log/x.log']],
  ];
  for (const [rest, want] of cases) t.same(splitPaths(rest), want, rest);
});

t.test('JSON', async (t) => {
  t.same(parseClusterJson(fixture('pg_lsclusters-online.json')), [
    { ...main15, owner: null, status: 'online', flags: [], config_directory: '/etc/postgresql/15/main', start: 'auto' },
  ]);
  t.match(parseClusterJson(fixture('pg_lsclusters-down.json')), [{ status: 'down' }]);
  t.same(parseClusterJson(fixture('pg_lsclusters-variants.json'))?.map((c) => [c.version, c.data_directory, c.status, c.flags, c.log_file]), [
    [15, '/var/lib/postgresql/15/main', 'online', [], '/var/log/postgresql/postgresql-15-main.log'],
    [16, '/srv/pg data/16/reports', 'down', [], '/var/log/postgresql/postgresql-16-reports.log'],
    [16, '/var/lib/postgresql/16/replica', 'online', ['recovery'], null],
  ]);
  for (const bad of ['', 'Error: Please install JSON.pm for JSON output (Debian: libjson-perl)\n', '{"not":"a list"}'])
    t.equal(parseClusterJson(bad), null, `not JSON output: ${JSON.stringify(bad)}`);
});

t.test('merge: JSON paths win, owner and flags come from the table', async (t) => {
  const merged = mergeClusters(parseClusterTable(fixture('pg_lsclusters-variants.txt')), parseClusterJson(fixture('pg_lsclusters-variants.json')));
  t.equal(merged.length, 3, 'a cluster only in the table is not invented from it when JSON exists');
  t.match(merged[1], { cluster: 'reports', owner: 'postgres', data_directory: '/srv/pg data/16/reports', start: 'manual' });
  t.match(merged[2], { cluster: 'replica', flags: ['recovery'], log_file: null });
  t.same(mergeClusters(parseClusterTable(fixture('pg_lsclusters-down.txt')), null)[0].config_directory, null, 'table only without JSON');
});

t.test('the fact parser over its parts', async (t) => {
  const parsed = clustersFact.parse(section('clusters', '', [
    { name: 'table', text: fixture('pg_lsclusters-online.txt') },
    { name: 'json', text: fixture('pg_lsclusters-online.json') },
  ]));
  t.same(parsed, [{ ...main15, status: 'online', flags: [], config_directory: '/etc/postgresql/15/main', start: 'auto' }]);
  t.same(clustersFact.parse(section('clusters', '', [{ name: 'table', text: fixture('pg_lsclusters-down.txt') }, { name: 'json', text: '' }]))[0].owner, 'postgres', 'old postgresql-common: table only');
  t.same(clustersFact.absent(), []);
  const listed = clustersFact.parse(section('clusters', '', [
    { name: 'clusters', text: '15\tmain\t5432\tonline\t-\tpostgres\t/var/lib/postgresql/15/main\t/var/log/postgresql/postgresql-15-main.log\t/etc/postgresql/15/main\tauto\n' },
  ]));
  t.same(listed, [{ ...main15, status: 'online', flags: [], config_directory: '/etc/postgresql/15/main', start: 'auto' }], 'the lines of lsclusters.sh: the same fact');
  t.same(clustersFact.parse(section('clusters', '', [{ name: 'clusters', text: '' }])), [], 'no cluster');
});

t.test('JSON alone: owner from the passwd entries, flags from the entry', async (t) => {
  const owners = parsePasswd('postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\nbroken line\n');
  t.same([...owners], [[101, 'postgres']]);
  const parsed = clustersFact.parse(section('clusters', '', [
    { name: 'json', text: fixture('pg_lsclusters-online.json') },
    { name: 'owners', text: 'postgres:x:101:104::/var/lib/postgresql:/bin/bash\n' },
  ]));
  t.same(parsed, [{ ...main15, status: 'online', flags: [], config_directory: '/etc/postgresql/15/main', start: 'auto' }], 'the same as table + JSON');
  const flagged = parseClusterJson('[{"cluster":"x","version":17,"running":1,"recovery":1,"supervisor":"patroni","binaries_missing":1,"owneruid":999}]', owners);
  t.match(flagged, [{ status: 'online', flags: ['recovery', 'patroni', 'binaries_missing'], owner: null }], 'an uid the passwd lines do not name: no owner');
});
