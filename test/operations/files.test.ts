import t from 'tap';
import { changedSettings, confChange, hbaChange, HBA_BEGIN, HBA_END, renderConf, renderHba } from '../../src/operations/files.js';
import { lineDiff } from '../../src/operations/diff.js';
import type { PostgresSpec } from '../../src/inventory/types.js';

const pg: PostgresSpec = { version: 15, cluster: 'main', port: 5432, listen: ['127.0.0.1', '10.0.0.1'], settings: { max_connections: 100, shared_buffers: '256MB', fsync: true, search_path: "it's" } };

t.test('renderConf: sorted, typed and quoted values', async (t) => {
  t.equal(
    renderConf(pg).split('\n').slice(1).join('\n'),
    "listen_addresses = '127.0.0.1,10.0.0.1'\nfsync = on\nmax_connections = 100\nsearch_path = 'it''s'\nshared_buffers = '256MB'\n",
  );
});

t.test('changedSettings', async (t) => {
  const cases: [string | null, string, string[]][] = [
    [null, 'a = 1\n', ['a']],
    ['a = 1\n', 'a = 1\n', []],
    ['a = 1\nb = 2\n', 'a = 1\nb = 3\n', ['b']],
    ['a = 1\nc = 2\n', 'a = 1\n', ['c']],
  ];
  for (const [before, after, want] of cases) t.same(changedSettings(before, after), want, `${before} -> ${after}`);
});

t.test('confChange is empty when the file is already right', async (t) => {
  t.equal(confChange(renderConf(pg), pg, '/x.conf'), undefined);
  const c = confChange(null, pg, '/x.conf')!;
  t.equal(c.operation, 'settings');
  t.match(c.description, /listen_addresses, fsync, max_connections, search_path, shared_buffers/);
});

t.test('renderHba keeps what is outside the managed block', async (t) => {
  const rules = [{ type: 'host' as const, database: 'app', user: 'app', address: '10.0.0.0/24', method: 'scram-sha-256' }];
  const base = 'local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n';
  const once = renderHba(base, rules);
  t.ok(once.startsWith(base));
  t.match(once, new RegExp(`${HBA_BEGIN}\nhost\tapp\tapp\t10.0.0.0/24\tscram-sha-256\n${HBA_END}\n$`));
  t.equal(renderHba(once, rules), once, 'idempotent');
  const after = renderHba(once + 'local all all peer\n', []);
  t.match(after, /local all all peer/, 'lines after the block survive');
  t.notMatch(after, /10\.0\.0\.0/, 'old rules gone');
  t.equal(hbaChange(once, { ...pg, hba: rules }, '/h'), undefined);
});

t.test('lineDiff', async (t) => {
  t.equal(lineDiff('a\nb\n', 'a\nb\n', '/f'), '');
  t.equal(lineDiff(null, 'a\n', '/f'), '--- /dev/null\n+++ /f\n+ a');
  t.equal(lineDiff('1\n2\n3\n4\n5\n6\n7\n8\n', '1\n2\n3\n4\n5\n6\n7\nX\n', '/f'), '--- /f\n+++ /f\n  ...\n  6\n  7\n- 8\n+ X');
});
