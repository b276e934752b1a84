import t from 'tap';
import type { ClusterFact } from '../../src/facts/types.js';
import type { Host } from '../../src/inventory/types.js';
import { scramVerifier } from '../../src/operations/scram.js';
import { planHost, type HostFactsForPlan } from '../../src/provision/plan.js';
import type { ClusterState } from '../../src/facts/cluster-state.js';
import { renderConf, renderHba } from '../../src/operations/files.js';

const host: Host = {
  name: 'db',
  address: '10.0.0.10',
  tags: ['production'],
  ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' },
  postgres: {
    version: 15,
    cluster: 'main',
    port: 5432,
    listen: ['127.0.0.1'],
    settings: { shared_buffers: '128MB', work_mem: '8MB' },
    roles: [{ name: 'app', login: true, password: { env: 'X' } }],
    databases: [{ name: 'app', owner: 'app' }],
    hba: [{ type: 'host', database: 'app', user: 'app', address: '10.0.0.0/24', method: 'scram-sha-256' }],
  },
};
const passwords = new Map([['app', 'pw-app']]);
const online: ClusterFact = { version: 15, cluster: 'main', port: 5432, status: 'online', flags: [], owner: 'postgres', data_directory: '/var/lib/postgresql/15/main', log_file: null, config_directory: null, start: null };
const freshFacts: HostFactsForPlan = {
  os: { id: 'debian', version_id: '12', pretty_name: null, kernel: null, hostname: 'db', init: 'init', systemd: false },
  postgres_packages: [],
  clusters: [],
  identity: { state: 'absent' },
  production_marker: { present: false },
};
const emptyState: ClusterState = { confFile: null, hbaFile: null, dataDirectory: { exists: false, entries: 0, pgVersion: null, systemIdentifier: null }, settings: null, roles: null, databases: null };
const settings = new Map([
  ['shared_buffers', { setting: '16384', unit: '8kB', context: 'postmaster', pending_restart: false }],
  ['work_mem', { setting: '4096', unit: 'kB', context: 'user', pending_restart: false }],
  ['listen_addresses', { setting: '127.0.0.1', unit: '', context: 'postmaster', pending_restart: false }],
]);
const convergedFacts: HostFactsForPlan = {
  ...freshFacts,
  postgres_packages: [
    { name: 'postgresql-15', version: '15.18', status: 'installed', installed: true },
    { name: 'postgresql-client-15', version: '15.18', status: 'installed', installed: true },
  ],
  clusters: [online],
  identity: { state: 'present', identities: [{ cluster: 'main', version: 15, port: 5432, data_directory: '/var/lib/postgresql/15/main', system_identifier: '7001', pinned_at: '2026-01-01T00:00:00Z' }] },
  production_marker: { present: true, content: 'production' },
};
const convergedState: ClusterState = {
  confFile: renderConf(host.postgres!),
  hbaFile: renderHba('local all postgres peer\n', host.postgres!.hba!),
  dataDirectory: { exists: true, entries: 20, pgVersion: '15', systemIdentifier: '7001' },
  settings,
  roles: [{ name: 'postgres', login: true, superuser: true, createdb: true, password: '' }, { name: 'app', login: true, superuser: false, createdb: false, password: scramVerifier('pw-app') }],
  databases: [{ name: 'postgres', owner: 'postgres' }, { name: 'app', owner: 'app' }],
};
const ops = (p: { changes: { operation: string }[] }) => p.changes.map((c) => c.operation);

const cases: { name: string; facts: HostFactsForPlan; state: ClusterState; pw?: Map<string, string>; host?: Host; created?: boolean; changes: string[]; deferred?: string[]; refusal?: RegExp }[] = [
  { name: 'fresh host: packages and cluster now, the rest once it exists', facts: freshFacts, state: emptyState, changes: ['packages', 'cluster', 'marker'], deferred: ['settings', 'pg_hba', 'service', 'identity', 'role', 'database'] },
  { name: 'converged host: nothing to do', facts: convergedFacts, state: convergedState, changes: [] },
  { name: 'password changed in the secret: role altered', facts: convergedFacts, state: convergedState, pw: new Map([['app', 'new']]), changes: ['role'] },
  { name: 'a user-context setting changed: write and reload', facts: convergedFacts, state: { ...convergedState, confFile: convergedState.confFile!.replace("'8MB'", "'4MB'") }, changes: ['settings', 'service'] },
  { name: 'a postmaster setting changed: restart', facts: convergedFacts, state: { ...convergedState, confFile: convergedState.confFile!.replace("'128MB'", "'64MB'") }, changes: ['settings', 'service'] },
  { name: 'database missing and owner of another wrong', facts: convergedFacts, state: { ...convergedState, databases: [] }, changes: ['database'] },
  { name: 'cluster just created by this apply: files, start, identity, then its roles and databases', created: true, facts: { ...convergedFacts, clusters: [{ ...online, status: 'down' }], identity: { state: 'absent' } }, state: { ...convergedState, confFile: null, settings: null, roles: null, databases: null, dataDirectory: { ...convergedState.dataDirectory } }, changes: ['settings', 'service', 'identity', 'role', 'database'], deferred: [] },
  { name: 'cluster down: start it, roles checked once it runs', facts: { ...convergedFacts, clusters: [{ ...online, status: 'down' }] }, state: { ...convergedState, settings: null, roles: null, databases: null }, changes: ['service'], deferred: ['role', 'database'] },
  { name: 'data directory with another cluster: refused', facts: { ...convergedFacts, clusters: [] }, state: { ...emptyState, dataDirectory: { exists: true, entries: 19, pgVersion: '15', systemIdentifier: '9' } }, changes: ['packages'].slice(1), refusal: /already holds a PostgreSQL 15 data directory.*refusing to initialize/ },
  { name: 'system identifier changed: refused', facts: convergedFacts, state: { ...convergedState, dataDirectory: { ...convergedState.dataDirectory, systemIdentifier: '8002' } }, changes: [], refusal: /re-initialized/ },
  { name: 'port taken by another cluster: refused', facts: { ...convergedFacts, clusters: [{ ...online, cluster: 'other' }] }, state: emptyState, changes: [], refusal: /port 5432 is already used by cluster 15\/other/ },
  { name: 'unknown setting: refused before the server cannot start', facts: convergedFacts, state: { ...convergedState, settings: new Map([...settings].filter(([k]) => k !== 'work_mem')) }, changes: [], refusal: /'work_mem' is not a PostgreSQL 15 setting/ },
];

for (const c of cases)
  t.test(c.name, async (t) => {
    const plan = planHost({ host: c.host ?? host, facts: c.facts, state: c.state, passwords: c.pw ?? passwords, created: c.created });
    t.same(ops(plan), c.changes, 'changes now');
    if (c.deferred) t.same(plan.deferred.map((d) => d.operation), c.deferred, 'deferred');
    if (c.refusal) t.match(plan.refusals.map((r) => r.message).join('\n'), c.refusal);
    else t.same(plan.refusals, []);
  });

t.test('restart is flagged for postmaster settings, not for user settings', async (t) => {
  const up = planHost({ host, facts: convergedFacts, state: { ...convergedState, confFile: convergedState.confFile!.replace("'128MB'", "'64MB'") }, passwords });
  t.equal(up.changes.find((c) => c.operation === 'service')?.restart, true);
  t.match(up.changes.find((c) => c.operation === 'settings')?.diff, /- shared_buffers = '64MB'\n\+ shared_buffers = '128MB'/);
  const rl = planHost({ host, facts: convergedFacts, state: { ...convergedState, confFile: convergedState.confFile!.replace("'8MB'", "'4MB'") }, passwords });
  t.notOk(rl.changes.find((c) => c.operation === 'service')?.restart);
  t.match(rl.changes.find((c) => c.operation === 'service')?.description, /^reload/);
});

t.test('no password appears in any change text', async (t) => {
  const plan = planHost({ host, facts: freshFacts, state: emptyState, passwords });
  const text = JSON.stringify([...plan.changes, ...plan.deferred]);
  t.notMatch(text, /pw-app/);
});
