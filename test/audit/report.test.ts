// The whole report from canned gathered input: order, levels, counts, exit; its text and its HTML page (escaped, charts).
import t from 'tap';
import { renderAuditHtml } from '../../src/audit/html.js';
import { renderAudit } from '../../src/audit/render.js';
import { buildReport } from '../../src/audit/report.js';
import type { AuditInput } from '../../src/audit/types.js';
import type { BackupEntry } from '../../src/backup/catalog.js';
import type { HostFacts } from '../../src/facts/types.js';
import { parseRecord, recordPath, toRecord } from '../../src/images/record.js';
import { loadInventory } from '../../src/inventory/load.js';

const inv = loadInventory(new URL('../../inventory/lab.yaml', import.meta.url).pathname);
const NOW = new Date('2026-11-30T08:00:00Z');

const facts = (host: string): HostFacts => ({
  host,
  absent: [],
  problems: [],
  facts: {
    os: { id: 'debian', version_id: '12', pretty_name: null, kernel: null, hostname: host, init: 'init', systemd: false },
    postgres_packages: [],
    clusters: host === 'db-prod' || host === 'staging' ? [{ version: 15, cluster: 'main', port: 5432, status: 'online', flags: [], owner: 'postgres', data_directory: '/d', log_file: null, config_directory: null, start: 'auto' }] : [],
    postgres_processes: [],
    listeners: [],
    disk: [{ filesystem: 'x', type: 'ext4', size: 1000, used: 100, available: 900, mount: '/', used_percent: 10 }],
    jobs: { cron_d: [], root_crontab: [], timers: [] },
    identity: { state: 'absent' },
    production_marker: { present: false },
    postgres_updates: [],
    tls: { cert: null, info: null, key: { state: 'absent' }, key_public: null },
    clock: { sync: { state: 'synchronised', daemon: 'chronyd', detail: 'reference 0A000001' }, reading: null },
    backup_job: host === 'db-prod' ? { installed: true, host, databases: ['app'], status: { state: 'ok', exit: 0, message: 'backed up', time: '2026-11-30T02:15:09Z' } } : { installed: false, host: null, databases: [], status: null },
    integrity: {
      clusters: host === 'db-prod' || host === 'staging' ? [{ version: 15, cluster: 'main', online: true, checksums: 'on', data_bytes: 1 << 30 }] : [],
      files: host === 'db-prod' ? { job: '#!/bin/sh', cron: 'x', service: null, timer: null } : { job: null, cron: null, service: null, timer: null },
      last: host === 'db-prod' ? { started: '2026-11-29T03:30:00Z', finished: '2026-11-29T03:31:00Z', exit: 0, state: 'ok', seconds: 60 } : null,
      findings: [],
      cleared: null,
    },
    corruption: [],
  },
});

const entry = (day: number, rows: number): BackupEntry => ({ id: `202611${day}T021600Z-db-prod-app`, host: 'db-prod', database: 'app', time: `2026-11-${day}T02:16:00Z`, bytes: rows * 10, tables: 5, rows, system_identifier: '1', verified: true, verified_at: `2026-11-${day}T03:00:00Z`, store: 'backup-far', path: '/p', newest_event: null, row_counts: {}, encrypted: true, host_time: null });

function input(over: Partial<AuditInput> = {}): AuditInput {
  const names = inv.hosts.map((h) => h.name);
  return {
    inventory: inv,
    now: NOW,
    facts: names.map((host) => ({ host, ok: true as const, value: facts(host) })),
    plans: names.map((host) => ({ host, ok: true as const, value: { host, changes: [], deferred: [], refusals: [] } })),
    linksError: null,
    censuses: ['db-prod', 'staging'].map((host) => ({ host, ok: true as const, value: { host, ok: true, durationMs: 1, expected: [], instances: [], problems: [], notes: [] } })),
    catalogs: [{ host: 'backup-far', ok: true, value: [entry(28, 1000), entry(29, 1100), entry(30, 1200)] }],
    images: [{ host: 'uploads', ok: true, value: { name: 'uploads', at: '2026-11-30T07:00:00Z', ok: true, mode: 'cached', hash: 'sha256', source: { files: 3, bytes: 30 }, replica: { files: 3, bytes: 30 }, equal: 3, counts: { missing: 0, extra: 0, size_mismatch: 0, content_mismatch: 0, unreadable: 0, source_rot: 0 }, walk_errors: 0, duration_ms: 5 } }],
    ...over,
  };
}

t.test('a clean estate', async (t) => {
  const r = buildReport(input());
  t.equal(r.ok, true);
  t.same(r.counts.failure, 0);
  t.same(r.hosts.map((h) => [h.host, h.level]), [['db-prod', 'ok'], ['app-prod', 'ok'], ['backup-far', 'ok'], ['staging', 'ok']]);
  t.same(r.hosts[0].findings.map((f) => f.area), ['drift', 'instances', 'integrity', 'integrity', 'job', 'backup', 'trend', 'drill', 'clock', 'disk', 'unknown'], 'a fixed order of areas');
  t.same(r.backups.map((s) => [s.host, s.database, s.points.length]), [['db-prod', 'app', 3]]);
  t.match(renderAudit(r), /^audit of .*lab\.yaml at 2026-11-30T08:00:00.000Z: \d+ ok, 0 warnings, 0 failures\n/);
});

t.test('problems: an unreachable host, an unreadable store, a shrunk backup', async (t) => {
  const r = buildReport(input({
    facts: input().facts.map((f) => (f.host === 'staging' ? { host: 'staging', ok: false as const, error: new Error('staging: cannot connect: timed out') } : f)),
    catalogs: [{ host: 'backup-far', ok: true, value: [entry(28, 1000), entry(29, 1100), entry(30, 3)] }],
  }));
  t.equal(r.ok, false);
  t.match(r.hosts.find((h) => h.host === 'staging'), { level: 'failure', findings: [{ area: 'reach', message: /UNREACHABLE: staging: cannot connect/ }] });
  t.match(r.hosts[0].findings.find((f) => f.area === 'trend'), { level: 'failure', message: /SHRANK/ });
  const text = renderAudit(r);
  t.match(text, /^db-prod: FAILURE$/m);
  t.match(text, /^ {2}FAIL {2}trend {5}app: SHRANK/m);
  t.match(text, /2 failures -- NOT OK/);
  const unread = buildReport(input({ catalogs: [{ host: 'backup-far', ok: false, error: new Error('permission denied') }] }));
  t.ok(unread.hosts.find((h) => h.host === 'backup-far')?.findings.some((f) => f.area === 'backup' && f.subject === 'store' && f.level === 'failure'), 'the store that could not be read is red');
  t.notOk(unread.hosts[0].findings.some((f) => f.area === 'backup'), 'no freshness judged from a store that could not be read');
});

t.test('per host: ok, and error only for a host that could not be reached', async (t) => {
  const r = buildReport(input({ facts: input().facts.map((f) => (f.host === 'staging' ? { host: 'staging', ok: false as const, error: new Error('staging: cannot connect to root@10.213.7.20:22: EHOSTUNREACH') } : f)) }));
  t.match(r.hosts.find((h) => h.host === 'staging'), { ok: false, error: 'staging: cannot connect to root@10.213.7.20:22: EHOSTUNREACH' });
  t.match(r.hosts.find((h) => h.host === 'db-prod'), { ok: true });
  t.notOk('error' in r.hosts.find((h) => h.host === 'db-prod')!, 'a reached host has no error');
});

t.test('--limit leaving out the store: the backups are marked as not judged, not judged from nothing', async (t) => {
  const only = (names: string[]) => ({ facts: input().facts.filter((f) => names.includes(f.host)), catalogs: [], images: [] });
  const r = buildReport(input(only(['db-prod'])));
  t.same(r.hosts.map((h) => h.host), ['db-prod']);
  t.match(r.hosts[0].findings.filter((f) => f.area === 'backup'), [{ subject: 'app', level: 'warning', message: 'not judged: its store backup-far is not among the audited hosts (--limit)' }]);
  t.equal(r.ok, true, 'a warning, not a failure');
});

t.test('the HTML page: self-contained, escaped, a chart per database with the drop in red', async (t) => {
  const r = buildReport(input({ catalogs: [{ host: 'backup-far', ok: true, value: [entry(29, 1000), entry(30, 3)] }] }));
  r.hosts[0].findings[0].message = '<script>alert(1)</script>';
  const html = renderAuditHtml(r);
  t.notMatch(html, /<script/, 'no script of ours, none injected');
  t.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.notMatch(html, /(src|href)=/, 'nothing fetched: no network needed to view it');
  t.equal([...html.matchAll(/<svg class="chart"/g)].length, 2, 'size and rows');
  t.equal([...html.matchAll(/<rect class="bar drop"/g)].length, 2, 'the drop is red in both charts');
  t.match(html, /<p class="summary failure" id="summary">/);
});

t.test('image records', async (t) => {
  const result = { name: 'uploads', source: { location: 'a', files: 2, bytes: 9, walk_errors: 0 }, replica: { location: 'b', files: 1, bytes: 4, walk_errors: 1 }, equal: 1, unverified: 0, mtime_differs: 0, counts: { missing: 1, extra: 0, size_mismatch: 0, content_mismatch: 0, unreadable: 0, source_rot: 0 }, problem_bytes: { missing: 5, extra: 0, size_mismatch: 0, content_mismatch: 0, unreadable: 0, source_rot: 0 }, lists_complete: true, hash: 'sha256' as const, mode: { kind: 'cached' as const }, duration_ms: 3, missing: ['x'], extra: [], size_mismatch: [], content_mismatch: [], unreadable: [], source_rot: [] };
  const rec = toRecord(result, NOW);
  t.match(rec, { name: 'uploads', at: '2026-11-30T08:00:00.000Z', ok: false, walk_errors: 1, counts: { missing: 1 } });
  t.same(parseRecord(JSON.stringify(rec)), rec, 'round trip');
  t.equal(parseRecord('{"at":'), null, 'a torn record reads as none');
  t.equal(parseRecord(''), null);
  t.equal(recordPath('uploads'), '/var/lib/ironclad/images/uploads.json');
});
