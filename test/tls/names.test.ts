import t from 'tap';
import type { Host } from '../../src/inventory/types.js';
import { canonicalIp, isDnsName, namesDiff, namesText } from '../../src/core/x509.js';
import { desiredNames } from '../../src/tls/names.js';

const host = (over: Partial<Host> & { listen?: string[]; names?: string[] } = {}): Host => ({
  name: over.name ?? 'db-prod',
  address: over.address ?? '10.20.0.10',
  tags: [],
  ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' },
  postgres: { version: 15, cluster: 'main', port: 5432, listen: over.listen, tls: { enabled: true, names: over.names ?? [] } },
});

t.test('names come from the inventory: host name, address, listen addresses, extra names; wildcards left out', async (t) => {
  const cases: { name: string; host: Host; dns: string[]; ip: string[] }[] = [
    { name: 'reference db-prod', host: host({ listen: ['127.0.0.1', '10.20.0.10'] }), dns: ['db-prod'], ip: ['10.20.0.10', '127.0.0.1'] },
    { name: 'an address that is a name', host: host({ address: 'DB.Example.com' }), dns: ['db-prod', 'db.example.com'], ip: [] },
    { name: 'wildcards and localhost', host: host({ listen: ['*', '0.0.0.0', '::', 'localhost', '::1'] }), dns: ['db-prod', 'localhost'], ip: ['10.20.0.10', '::1'] },
    { name: 'extra names', host: host({ names: ['pg.internal', '*.db.internal'] }), dns: ['*.db.internal', 'db-prod', 'pg.internal'], ip: ['10.20.0.10'] },
    { name: 'an IPv6 zone is left out', host: host({ listen: ['fe80::1%eth0', 'FE80::2'] }), dns: ['db-prod'], ip: ['10.20.0.10', 'fe80::2'] },
    { name: 'junk in listen is not a name', host: host({ listen: ['a,IP:1.2.3.4', 'x y', 'a/b'] }), dns: ['db-prod'], ip: ['10.20.0.10'] },
  ];
  for (const c of cases) t.same(desiredNames(c.host), { dns: c.dns, ip: c.ip }, c.name);
});

t.test('a DNS name can never carry a second SAN entry or a config line', async (t) => {
  for (const ok of ['db-prod', 'a.b.c', '*.db.example.com', 'db_prod']) t.ok(isDnsName(ok), ok);
  for (const bad of ['a,DNS:evil', 'a:b', 'a b', 'a\nb', 'a/b', '', '-x', 'a..b', `${'a'.repeat(64)}.com`, '*.*.a']) t.notOk(isDnsName(bad), JSON.stringify(bad));
});

t.test('IPs in one spelling; diff and text', async (t) => {
  t.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
  t.equal(canonicalIp('FE80:0:0::1'), 'fe80::1');
  t.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  t.equal(namesText({ dns: ['a'], ip: ['10.0.0.1'] }), 'DNS:a, IP:10.0.0.1');
  t.same(namesDiff({ dns: ['a', 'old'], ip: ['10.0.0.1'] }, { dns: ['a'], ip: ['10.0.0.1', '10.0.0.2'] }), { missing: ['IP:10.0.0.2'], extra: ['DNS:old'] });
});
