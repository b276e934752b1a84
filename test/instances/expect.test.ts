// What a host should run, from its inventory entry, and the census arguments that say so.
import t from 'tap';
import { censusArgLine, censusArgs, expectedClusters } from '../../src/instances/expect.js';
import { censusInvocation } from '../../src/instances/script.js';
import type { Host } from '../../src/inventory/types.js';

const base: Host = { name: 'h', address: '10.0.0.1', tags: [], ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' } };

t.test('expectations from the inventory', async (t) => {
  const cases: [string, Host['postgres'], ReturnType<typeof expectedClusters>, string][] = [
    ['no postgres: nothing may run', undefined, [], ''],
    ['one cluster', { version: 15, cluster: 'main', port: 5432 }, [{ version: 15, cluster: 'main', port: 5432, required: true }], '--expect 15/main:5432'],
    [
      'extra clusters are allowed, in the host version unless they say otherwise',
      { version: 15, cluster: 'main', port: 5432, extra_clusters: [{ cluster: 'reports', port: 5433 }, { cluster: 'legacy', port: 5440, version: 13 }] },
      [
        { version: 15, cluster: 'main', port: 5432, required: true },
        { version: 15, cluster: 'reports', port: 5433, required: false },
        { version: 13, cluster: 'legacy', port: 5440, required: false },
      ],
      '--expect 15/main:5432 --allow 15/reports:5433 --allow 13/legacy:5440',
    ],
  ];
  for (const [name, postgres, expected, line] of cases) {
    const e = expectedClusters({ ...base, postgres });
    t.same(e, expected, name);
    t.equal(censusArgLine(e), line, name);
    t.equal(censusArgs(e).length, e.length * 2, name);
  }
});

t.test('the invocation: POSIX sh reading the script on stdin', async (t) => {
  t.equal(censusInvocation([]).script, 'sh -s --');
  const inv = censusInvocation([{ version: 15, cluster: 'main', port: 5432, required: true }]);
  t.equal(inv.script, 'sh -s -- --expect 15/main:5432');
  t.match(inv.stdin, /^#!\/bin\/sh\n# ironclad census/);
});
