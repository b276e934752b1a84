import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { OperationError } from '../../src/core/errors.js';
import { factScript, gatherFacts, parseFactOutput } from '../../src/facts/gather.js';
import { FACT_NAMES } from '../../src/facts/registry.js';
import type { FactProblem } from '../../src/facts/types.js';
import { FIXTURE_NONCE, fixture, recordedConnector } from '../fixtures/facts/load.js';

const parse = (file: string) => parseFactOutput('h', FACT_NAMES, fixture(file), FIXTURE_NONCE);

t.test('recorded Debian 12, cluster online', async (t) => {
  const h = parse('debian12-online.combined.txt');
  t.same(h.problems, []);
  t.same(h.absent, []);
  t.match(h.facts.os, { id: 'debian', version_id: '12', systemd: false });
  t.match(h.facts.clusters, [{ version: 15, cluster: 'main', status: 'online', owner: 'postgres', start: 'auto' }]);
  t.same(h.facts.postgres_processes.filter((p) => p.role === 'postmaster').map((p) => [p.pid, p.port]), [[7, 5432]]);
  t.ok(h.facts.listeners.some((l) => l.kind === 'tcp' && l.port === 5432 && l.processes[0]?.pid === 7));
  t.ok(h.facts.listeners.some((l) => l.kind === 'unix' && l.path.endsWith('.s.PGSQL.5432')));
  t.match(h.facts.postgres_packages.find((p) => p.name === 'postgresql-15'), { installed: true, version: '15.18-0+deb12u1' });
  t.same(h.facts.identity, { state: 'absent' });
  t.same(h.facts.production_marker, { present: false });
  t.match(h.facts.postgres_updates.find((u) => u.name === 'postgresql-15'), { installed: '15.18-0+deb12u1', candidate: '15.20-0+deb12u1', pending: true });
  t.match(h.facts.postgres_updates.find((u) => u.name === 'postgresql-common'), { pending: false });
  t.same(h.facts.backup_job, { installed: false, host: null, databases: [], status: null });
});

t.test('recorded Debian 12, cluster down, and caught while stopping', async (t) => {
  for (const file of ['debian12-down.combined.txt', 'debian12-stopping.combined.txt']) {
    const h = parse(file);
    t.match(h.facts.clusters, [{ status: 'down' }], file);
    t.same(h.facts.postgres_processes, [], `${file}: no running postgres`);
    t.notOk(h.facts.listeners.some((l) => l.kind === 'tcp' && l.port === 5432), file);
  }
});

t.test('recorded host without dpkg-query, pg_lsclusters, ss, df, crontab', async (t) => {
  const h = parse('minimal-no-tools.combined.txt');
  t.same(h.absent, ['postgres_packages', 'clusters', 'listeners', 'disk', 'postgres_updates', 'integrity', 'corruption']);
  t.same(h.problems, []);
  t.same([h.facts.clusters, h.facts.postgres_packages, h.facts.listeners, h.facts.disk], [[], [], [], []]);
  t.equal(h.facts.os.id, 'debian', 'the os fact needs no tool beyond cat and uname');
  t.equal(h.facts.jobs.cron_d.length, 1);
});

t.test('hand-made production host: systemd, failing pg_lsclusters, pinned identity, output cut short', async (t) => {
  const h = parse('prod-host.combined.txt');
  t.equal(h.facts.os.systemd, true);
  const problems: FactProblem[] = [
    { kind: 'exit', fact: 'clusters', code: 2, stderr: 'Error: Invalid data directory for cluster 15 main\nsecond line' },
    { kind: 'missing', fact: 'postgres_packages' },
    { kind: 'missing', fact: 'postgres_processes' },
    { kind: 'missing', fact: 'listeners' },
    { kind: 'missing', fact: 'disk' },
    { kind: 'missing', fact: 'postgres_updates' },
    { kind: 'missing', fact: 'backup_job' },
    // cut short: every fact registered since is missing too
    ...(['integrity', 'corruption', 'tls', 'clock'] as const).map((fact) => ({ kind: 'missing' as const, fact })),
  ];
  t.same(h.problems, problems.sort((a, b) => FACT_NAMES.indexOf(a.fact) - FACT_NAMES.indexOf(b.fact)));
  t.match(h.facts.identity, { state: 'present', identities: [{ system_identifier: '7312345678901234567' }] });
  t.match(h.facts.production_marker, { present: true, content: /production/ });
  t.same(h.facts.jobs.timers.map((x) => x.unit)[1], 'ironclad-backup.timer');
  t.same(h.facts.jobs.cron_d.map((f) => f.name), ['ironclad-backup', 'my file']);
});

t.test('a subset of facts', async (t) => {
  const h = parseFactOutput('h', ['os', 'identity'], fixture('debian12-online.combined.txt'), FIXTURE_NONCE);
  t.same(Object.keys(h.facts), ['os', 'identity']);
  t.notMatch(factScript(['os'], 'n'), /pg_lsclusters/, 'the script only holds what was asked');
});

t.test('gatherFacts: one run per host, through the connector', async (t) => {
  const conn = recordedConnector('fake', 'debian12-online.combined.txt');
  const h = await gatherFacts(conn);
  t.equal(conn.scripts.length, 1);
  t.equal(h.host, 'fake');
  t.equal(h.facts.clusters[0].status, 'online');
  const some = await gatherFacts(conn, ['clusters', 'identity']);
  t.same(Object.keys(some.facts), ['clusters', 'identity'], 'typed as HostFacts<"clusters" | "identity">');
  t.equal(some.facts.identity.state, 'absent');
  t.equal(conn.scripts.length, 2);
});

t.test('gatherFacts: a script that never ran is a failure of the host', async (t) => {
  const conn = recordedConnector('fake', 'df.txt', 255);
  await t.rejects(gatherFacts(conn), OperationError);
  await t.rejects(gatherFacts(conn), /fake: gathering facts failed \(exit 255\): ssh: broken pipe/);
});

t.test('gatherFacts on this machine, for real', async (t) => {
  const h = await gatherFacts(localConnector('here'));
  t.same(h.problems, [], 'every section came back and exited 0');
  t.type(h.facts.os.kernel, 'string');
  t.ok(h.facts.disk.some((d) => d.mount === '/'), 'the root filesystem is listed');
});
