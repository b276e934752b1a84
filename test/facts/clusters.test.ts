import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { clustersFact, mergeClusters, parseClusterJson, parseClusterTable, parsePasswd, splitPaths } from '../../src/facts/clusters.js';
import { factScript, parseFactOutput } from '../../src/facts/gather.js';
import type { HostFacts } from '../../src/facts/types.js';
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

/** The fact's own shell command on a made-up host: pg_lsclusters and getent stand-ins that count their runs. */
function runClustersCommand(t: Test, lsclusters: string): { facts: HostFacts<'clusters'>; runs: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ironclad-clusters-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'grep', 'cut', 'sort', 'cat']) symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >>'${dir}/runs'\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  writeFileSync(join(dir, 'json'), fixture('pg_lsclusters-variants.json'));
  writeFileSync(join(dir, 'table'), fixture('pg_lsclusters-variants.txt'));
  stub('pg_lsclusters', lsclusters.replaceAll('@', dir));
  stub('getent', `[ "$1 $2" = "passwd 101" ] && echo 'postgres:x:101:104::/var/lib/postgresql:/bin/bash'`);
  writeFileSync(join(dir, 'runs'), '');
  const r = spawnSync(join(bin, 'sh'), ['-c', factScript(['clusters'], 'n0nce')], { encoding: 'utf8', env: { PATH: bin } });
  return { facts: parseFactOutput('h', ['clusters'], r.stdout, 'n0nce'), runs: spawnSync('cat', [join(dir, 'runs')], { encoding: 'utf8' }).stdout };
}

t.test('the command runs pg_lsclusters once when it speaks JSON, the table only when it does not', async (t) => {
  const json = runClustersCommand(t, `case $1 in --json) cat '@/json' ;; *) cat '@/table' ;; esac`);
  t.equal(json.runs, 'pg_lsclusters --json\ngetent passwd 101\n', 'one pg_lsclusters (Perl), one getent for the one owner');
  t.same(json.facts.problems, []);
  t.same(json.facts.facts.clusters.map((c) => [c.cluster, c.owner, c.status, c.flags, c.data_directory]), [
    ['main', 'postgres', 'online', [], '/var/lib/postgresql/15/main'],
    ['reports', 'postgres', 'down', [], '/srv/pg data/16/reports'],
    ['replica', 'postgres', 'online', ['recovery'], '/var/lib/postgresql/16/replica'],
  ]);
  const old = runClustersCommand(t, `case $1 in --json) echo 'Error: Please install JSON.pm for JSON output' >&2; exit 1 ;; *) cat '@/table' ;; esac`);
  t.equal(old.runs, 'pg_lsclusters --json\npg_lsclusters -h\n', 'no JSON: the table');
  t.same(old.facts.facts.clusters.map((c) => [c.cluster, c.owner, c.flags]), [['main', 'postgres', []], ['reports', 'postgres', []], ['replica', 'postgres', ['recovery']], ['ghost', null, ['binaries_missing']]]);
  const failing = runClustersCommand(t, `echo 'Error: Invalid data directory for cluster 15 main' >&2; exit 2`);
  t.match(failing.facts.problems, [{ kind: 'exit', fact: 'clusters', code: 2, stderr: /Invalid data directory/ }], 'a failing pg_lsclusters is still a problem of the fact');
});
