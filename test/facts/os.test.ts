import t from 'tap';
import { osFact } from '../../src/facts/os.js';
import { postgresPackagesFact } from '../../src/facts/packages.js';
import { parseAssignments } from '../../src/facts/text.js';
import { section } from '../fixtures/facts/load.js';

const parts = (o: Record<string, string>) => Object.entries(o).map(([name, text]) => ({ name, text }));

t.test('os from its parts', async (t) => {
  const cases: { name: string; parts: Record<string, string>; want: unknown }[] = [
    {
      name: 'Debian 12 without systemd (recorded values)',
      parts: { 'os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n', kernel: '6.1.0-18-amd64\n', hostname: 'vm\n', init: 'process_api\n' },
      want: { id: 'debian', version_id: '12', pretty_name: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-18-amd64', hostname: 'vm', init: 'process_api', systemd: false },
    },
    {
      name: 'systemd running',
      parts: { 'os-release': "ID='ubuntu'\nVERSION_ID=\"24.04\"\n", kernel: '6.8.0\n', hostname: 'db1\n', init: 'systemd\n', systemd: 'yes\n' },
      want: { id: 'ubuntu', version_id: '24.04', pretty_name: null, kernel: '6.8.0', hostname: 'db1', init: 'systemd', systemd: true },
    },
    {
      name: 'nothing readable',
      parts: { 'os-release': '', kernel: '', hostname: '', init: '' },
      want: osFact.absent(),
    },
  ];
  for (const c of cases) t.same(osFact.parse(section('os', '', parts(c.parts))), c.want, c.name);
});

t.test('os-release quoting', async (t) => {
  t.same(parseAssignments('# comment\nA="x \\"y\\""\nB=\'z\'\nC=plain\nnot a line\n'), { A: 'x "y"', B: 'z', C: 'plain' });
});

t.test('dpkg packages', async (t) => {
  const text = 'postgresql-15\t15.18-0+deb12u1\tinstalled\npostgresql-doc\t\tnot-installed\npostgresql-14\t14.10-1\tconfig-files\nbroken line\n';
  t.same(postgresPackagesFact.parse(section('postgres_packages', text)), [
    { name: 'postgresql-15', version: '15.18-0+deb12u1', status: 'installed', installed: true },
    { name: 'postgresql-doc', version: null, status: 'not-installed', installed: false },
    { name: 'postgresql-14', version: '14.10-1', status: 'config-files', installed: false },
  ]);
  t.same(postgresPackagesFact.parse(section('postgres_packages', '')), [], 'no postgresql package known to dpkg');
});
