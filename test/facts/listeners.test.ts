import t from 'tap';
import { listenersFact, parseSocketOwners, parseTcpListeners, parseUnixListeners, splitAddress } from '../../src/facts/listeners.js';
import { fixture, section } from '../fixtures/facts/load.js';

t.test('recorded TCP and unix listeners of a running 15/main', async (t) => {
  t.same(parseTcpListeners(fixture('ss-ltnp-online.txt')), [
    { kind: 'tcp', address: '127.0.0.1', port: 5432, processes: [{ name: 'postgres', pid: 7, fd: 5 }] },
    { kind: 'tcp', address: '0.0.0.0', port: 2024, processes: [] },
  ]);
  t.same(parseUnixListeners(fixture('ss-lxp-online.txt')), [
    { kind: 'unix', path: '/var/run/postgresql/.s.PGSQL.5432', processes: [{ name: 'postgres', pid: 7, fd: 6 }] },
  ]);
});

t.test('hand-made variants: IPv6, wildcard, interface scope, several owners, spaces, abstract sockets', async (t) => {
  t.same(parseTcpListeners(fixture('ss-ltnp-variants.txt')).map((l) => [l.address, l.port, l.processes.map((p) => p.pid)]), [
    ['127.0.0.1', 5432, [7446]],
    ['::1', 5432, [7446]],
    ['0.0.0.0', 22, [500, 900]],
    ['*', 5433, [8100]],
    ['127.0.0.53%lo', 53, [300]],
    ['0.0.0.0', 2024, []],
  ]);
  t.same(parseUnixListeners(fixture('ss-lxp-variants.txt')).map((l) => [l.path, l.processes.length]), [
    ['/var/run/postgresql/.s.PGSQL.5432', 1],
    ['/srv/pg sock/.s.PGSQL.5433', 1],
    ['/run/udev/control', 2],
    ['@/org/kernel/linux/storage/multipathd', 0],
  ]);
});

t.test('addresses and owners', async (t) => {
  const cases: [string, { address: string; port: number } | null][] = [
    ['[::]:5432', { address: '::', port: 5432 }],
    ['10.0.0.1:5432', { address: '10.0.0.1', port: 5432 }],
    ['0.0.0.0:*', null],
    ['garbage', null],
  ];
  for (const [local, want] of cases) t.same(splitAddress(local), want, local);
  t.same(parseSocketOwners('users:(("a b",pid=1,fd=2),("c",pid=3))'), [{ name: 'a b', pid: 1, fd: 2 }, { name: 'c', pid: 3, fd: null }]);
});

t.test('the fact joins both parts; ss absent means none known', async (t) => {
  const got = listenersFact.parse(section('listeners', '', [
    { name: 'tcp', text: fixture('ss-ltnp-online.txt') },
    { name: 'unix', text: fixture('ss-lxp-online.txt') },
  ]));
  t.same(got.map((l) => l.kind), ['tcp', 'tcp', 'unix']);
  t.same(listenersFact.absent(), []);
});
