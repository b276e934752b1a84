// Judging one host from canned facts, plans and records: drift, census, disks, versions, unknowns, images.
import t from 'tap';
import { judgeCensus, judgeDisks, judgeDrift, judgeImages, judgePostgres, judgeUnknown } from '../../src/audit/host.js';
import type { ClusterFact, FactValues } from '../../src/facts/types.js';
import type { ImageRecord } from '../../src/images/record.js';
import { loadInventory } from '../../src/inventory/load.js';

const inv = loadInventory(new URL('../../inventory/lab.yaml', import.meta.url).pathname);
const host = (name: string) => inv.hosts.find((h) => h.name === name)!;
const NOW = new Date('2026-11-30T08:00:00Z');

const cluster = (name: string, port: number, status: 'online' | 'down' = 'online'): ClusterFact => ({ version: 15, cluster: name, port, status, flags: [], owner: 'postgres', data_directory: `/var/lib/postgresql/15/${name}`, log_file: null, config_directory: null, start: 'auto' });
const noJob: FactValues['backup_job'] = { installed: false, host: null, databases: [], status: null };
const os: FactValues['os'] = { id: 'debian', version_id: '12', pretty_name: null, kernel: null, hostname: null, init: 'init', systemd: false };
const facts = (over: Partial<FactValues>) => ({ clusters: [cluster('main', 5432)], jobs: { cron_d: [], root_crontab: [], timers: [] }, os, backup_job: { installed: true, host: 'db-prod', databases: ['app'], status: null }, ...over });

t.test('drift', async (t) => {
  const clean = judgeDrift('db-prod', { host: 'db-prod', ok: true, value: { host: 'db-prod', changes: [], deferred: [], refusals: [] } });
  t.match(clean, { level: 'ok', message: /apply would change nothing/ });
  const change = { operation: 'settings', description: 'max_connections 42 -> 100', commands: [] };
  const drift = judgeDrift('db-prod', { host: 'db-prod', ok: true, value: { host: 'db-prod', changes: [change], deferred: [], refusals: [{ operation: 'cluster', message: 'occupied' }] } });
  t.match(drift, { level: 'failure', message: /DRIFT: apply would make 1 change and refuses 1/, details: ['apply refuses: occupied', 'settings: max_connections 42 -> 100'] });
  t.match(judgeDrift('x', { host: 'x', ok: false, error: new Error('timed out') }), { level: 'failure', message: /could not plan: timed out/ });
});

t.test('census', async (t) => {
  const base = { host: 'db-prod', durationMs: 1, expected: [], notes: [] };
  t.match(judgeCensus('db-prod', { host: 'db-prod', ok: true, value: { ...base, ok: true, problems: [], instances: [{ port: 5432, data_directory: '/d', pid: 7, system_identifier: '42', expected_as: '15/main', cluster: '15/main', container: null, sources: [] }] } }), { level: 'ok', message: /port 5432 \/d \(system identifier 42\)/ });
  t.match(judgeCensus('db-prod', { host: 'db-prod', ok: true, value: { ...base, ok: false, problems: ['a second instance on port 5440'], instances: [] } }), { level: 'failure', message: '1 instance problem', details: ['a second instance on port 5440'] });
});

t.test('disks', async (t) => {
  const disk = (mount: string, used_percent: number) => ({ filesystem: 'x', type: 'ext4', size: 100, used: used_percent, available: 100 - used_percent, mount, used_percent });
  t.same(judgeDisks('h', [disk('/', 12), disk('/var', 80), disk('/srv', 95)]).map((f) => f.level), ['ok', 'warning', 'failure']);
});

t.test('postgres version and pending updates', async (t) => {
  const pkgs = [{ name: 'postgresql-15', version: '15.18-0+deb12u1', status: 'installed', installed: true }, { name: 'postgresql-client-15', version: '15.18-0+deb12u1', status: 'installed', installed: true }];
  const update = (candidate: string) => [{ name: 'postgresql-15', installed: '15.18-0+deb12u1', candidate, pending: candidate !== '15.18-0+deb12u1' }];
  t.match(judgePostgres('h', { postgres_packages: pkgs, postgres_updates: update('15.18-0+deb12u1') }), [{ level: 'ok', message: 'postgresql-15 15.18-0+deb12u1, no update pending' }]);
  t.match(judgePostgres('h', { postgres_packages: pkgs, postgres_updates: update('15.20-0+deb12u1') }), [{ level: 'warning', details: ['postgresql-15: 15.18-0+deb12u1 -> 15.20-0+deb12u1', /only-upgrade/] }]);
  t.same(judgePostgres('h', { postgres_packages: [], postgres_updates: [] }), [], 'no server, no line');
});

t.test('what the inventory does not know', async (t) => {
  const cases: [string, string, Partial<FactValues>, [string, string, RegExp][]][] = [
    ['a clean database host', 'db-prod', { jobs: { cron_d: [{ name: 'ironclad-backup', lines: ['15 2 * * * root x'], package: null }, { name: 'e2scrub_all', lines: ['x'], package: 'e2fsprogs' }], root_crontab: [], timers: [] } }, [['ok', 'host', /nothing here/]]],
    ['an unknown cluster', 'db-prod', { clusters: [cluster('main', 5432), cluster('legacy', 5433, 'down')] }, [['failure', 'cluster 15/legacy', /UNKNOWN CLUSTER 15\/legacy \(port 5433, down/]]],
    ['a clean host without backups', 'staging', { clusters: [cluster('main', 5432)], backup_job: noJob }, [['ok', 'host', /nothing/]]],
    ['a hand-made cron file and root crontab', 'staging', { backup_job: noJob, jobs: { cron_d: [{ name: 'cleanup', lines: ['0 4 * * * root rm -rf /tmp/x'], package: null }], root_crontab: ['@reboot /opt/x'], timers: [] } }, [['warning', '/etc/cron.d/cleanup', /no package ships/], ['warning', 'root crontab', /1 entry/]]],
    ['ironclad cron file left behind', 'staging', { backup_job: noJob, jobs: { cron_d: [{ name: 'ironclad-backup', lines: ['x'], package: null }], root_crontab: [], timers: [] } }, [['failure', '/etc/cron.d/ironclad-backup', /no longer asks for it/]]],
    ['a job of a host without backup', 'staging', { backup_job: { installed: true, host: 'staging', databases: ['app'], status: null } }, [['failure', '/usr/local/sbin/ironclad-backup', /no backup for this host/]]],
    ['a store with its retention and health cron files', 'backup-far', { clusters: [], backup_job: noJob, jobs: { cron_d: [{ name: 'ironclad-retention', lines: ['x'], package: null }, { name: 'ironclad-store-health', lines: ['x'], package: null }], root_crontab: [], timers: [] } }, [['ok', 'host', /nothing here/]]],
    ['a job of a removed database', 'db-prod', { backup_job: { installed: true, host: 'db-prod', databases: ['app', 'billing'], status: null } }, [['failure', '/usr/local/sbin/ironclad-backup', /still dumps billing/]]],
  ];
  for (const [name, h, over, want] of cases) {
    const got = judgeUnknown(inv, host(h), facts(over));
    t.same(got.map((f) => [f.level, f.subject]), want.map(([l, s]) => [l, s]), name);
    want.forEach(([, , m], i) => t.match(got[i]?.message, m, name));
  }
});

t.test('image records', async (t) => {
  const pair = inv.images[0];
  const rec = (at: string, counts: Partial<ImageRecord['counts']> = {}): ImageRecord => {
    const c = { missing: 0, extra: 0, size_mismatch: 0, content_mismatch: 0, unreadable: 0, source_rot: 0, ...counts };
    return { name: 'uploads', at, ok: Object.values(c).every((n) => n === 0), mode: 'cached', hash: 'sha256', source: { files: 5, bytes: 5000 }, replica: { files: 5, bytes: 5000 }, equal: 5, counts: c, walk_errors: 0, duration_ms: 9 };
  };
  const judge = (value: ImageRecord | null) => judgeImages(pair, { host: 'uploads', ok: true, value }, NOW);
  t.match(judge(rec('2026-11-30T07:00:00Z')), { host: 'backup-far', level: 'ok', message: /compared 1 h ago: 5 files equal/ });
  t.match(judge(rec('2026-11-30T07:00:00Z', { missing: 2, content_mismatch: 1 })), { level: 'failure', message: /DISCREPANCIES compared 1 h ago: 2 missing, 1 content mismatch/ });
  t.match(judge(rec('2026-11-01T07:00:00Z')), { level: 'warning', message: /due again/ });
  t.match(judge(null), { level: 'warning', message: /never compared/ });
  t.match(judgeImages(pair, { host: 'uploads', ok: false, error: new Error('unreachable') }, NOW), { level: 'failure' });
});
