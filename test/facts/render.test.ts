import t from 'tap';
import { parseFactOutput } from '../../src/facts/gather.js';
import { FACT_NAMES } from '../../src/facts/registry.js';
import { describeProblem, humanBytes, renderHost, renderReport, wrapList } from '../../src/facts/render.js';
import { factsExitCode, factsReport, type FactsOutcome } from '../../src/facts/report.js';
import { FIXTURE_NONCE, fixture } from '../fixtures/facts/load.js';

const outcome = (host: string, file: string): FactsOutcome => ({ host, ok: true, value: parseFactOutput(host, FACT_NAMES, fixture(file), FIXTURE_NONCE) });

t.test('a running Debian 12 host, line by line', async (t) => {
  const text = renderHost(factsReport([outcome('db-prod', 'debian12-online.combined.txt')]).hosts[0]);
  const expected = [
    /^db-prod:$/m,
    /^ {2}os {10}Debian GNU\/Linux 12 \(bookworm\), kernel \S+, hostname vm, no systemd \(pid 1: sh\)$/m,
    /^ {2}packages {4}postgresql 15\+248\+deb12u1, postgresql-15 15\.18-0\+deb12u1/m,
    /^ {2}clusters {4}15\/main port 5432 online owner postgres \/var\/lib\/postgresql\/15\/main$/m,
    /^ {2}postmasters pid 7 port 5432 \/var\/lib\/postgresql\/15\/main \(user postgres, 5 children\)$/m,
    /^ {2}listeners {3}tcp 127\.0\.0\.1:5432 postgres\[7\]$/m,
    /^ {14}unix \/var\/run\/postgresql\/\.s\.PGSQL\.5432 postgres\[7\]$/m,
    /^ {2}disk {8}\/ 2\d% of 252\.0 GiB \(\d+\.\d GiB free, ext4 \/dev\/vda\)$/m,
    /^ {2}jobs {8}cron\.d\/e2scrub_all \(2 entries\)$/m,
    /^ {2}identity {4}not pinned$/m,
    /^ {2}production {2}absent$/m,
  ];
  for (const re of expected) t.match(text, re);
  t.notMatch(text, /postgresql-doc/, 'packages not installed are not shown');
  t.notMatch(text, /problems/);
});

t.test('absent tools, problems, a pinned production host, a failed host', async (t) => {
  const report = factsReport([
    outcome('bare', 'minimal-no-tools.combined.txt'),
    outcome('prod', 'prod-host.combined.txt'),
    { host: 'gone', ok: false, error: new Error('gone: cannot connect to root@10.0.0.9:22: timed out') },
  ]);
  const text = renderReport(report);
  t.match(text, /^ {2}clusters {4}unknown: pg_lsclusters not available$/m);
  t.match(text, /^ {2}postmasters none$/m);
  t.match(text, /^ {2}identity {4}15\/main port 5432 \/var\/lib\/postgresql\/15\/main system_identifier 7312345678901234567 \(pinned 2024-01-02T03:04:05Z\)$/m);
  t.match(text, /^ {2}production {2}PRODUCTION: db-prod: production, pinned by ironclad apply$/m);
  t.match(text, /^ {2}problems {4}postgres_packages: no output \(the script was cut short\)$/m);
  t.match(text, /^ {14}clusters: exit 2: second line$/m);
  t.match(text, /^ {2}jobs {8}cron\.d\/ironclad-backup \(2 entries\)\n {14}cron\.d\/my file \(1 entry\)\n {14}root crontab \(1 entry\)\n {14}timer logrotate\.timer next Thu 2024-01-04 00:00:00 UTC$/m);
  t.match(text, /^gone: FAILED: gone: cannot connect/m);
  t.match(text, /1 host of 3 failed\n$/);
  t.equal(factsExitCode(report), 1);
  t.equal(factsExitCode(factsReport([outcome('prod', 'prod-host.combined.txt')])), 0, 'a fact problem alone does not fail the command');
});

t.test('the JSON report shape', async (t) => {
  const report = factsReport([outcome('db', 'debian12-online.combined.txt'), { host: 'x', ok: false, error: new Error('boom') }]);
  t.match(JSON.parse(JSON.stringify(report)), {
    hosts: [
      { host: 'db', ok: true, facts: { clusters: [{ status: 'online' }], os: { id: 'debian' } }, absent: [], problems: [] },
      { host: 'x', ok: false, error: 'boom' },
    ],
  });
});

t.test('small helpers', async (t) => {
  const bytes: [number, string][] = [[0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [270553174016, '252.0 GiB']];
  for (const [n, s] of bytes) t.equal(humanBytes(n), s);
  t.same(wrapList(['aaaa', 'bbbb', 'cccc'], 10), ['aaaa, bbbb', 'cccc']);
  t.same(wrapList(['a-very-long-item', 'b'], 5), ['a-very-long-item', 'b']);
  t.equal(describeProblem({ kind: 'parse', fact: 'disk', message: 'x' }), 'disk: output not understood: x');
});
