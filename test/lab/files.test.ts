// Unit tests of the files the lab writes: /etc/hosts, sshd settings, known_hosts (pure renderings).
import t from 'tap';
import { etcHosts, knownHostsLine, knownHostsText, sshdDropIn } from '../../src/lab/files.js';
import { wantedKnownHosts } from '../../src/lab/keys.js';
import { planLab } from '../../src/lab/plan.js';
import { labHost, labInventory } from './fixtures/inventory.js';

const plan = planLab(labInventory());
const [db, app] = plan.hosts;
const keyOf = (name: string) => `ssh-ed25519 AAAAkey-of-${name} root@${name}\n`;

t.test('/etc/hosts: loopback and every lab host', async (t) => {
  t.equal(
    etcHosts(plan),
    '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.213.7.10\tdb-prod\n10.213.7.11\tapp-prod\n10.213.7.12\tbackup-far\n10.213.7.20\tstaging\n',
  );
});

t.test('sshd: own host key only, keys only, the inventory port', async (t) => {
  const text = sshdDropIn(db!);
  t.match(text, /^HostKey \/etc\/ssh\/ssh_host_ed25519_key$/m);
  t.match(text, /^Port 22$/m);
  t.match(text, /^PasswordAuthentication no$/m);
  const other = planLab(labInventory({ hosts: [labHost('db-prod', '10.213.7.10', { port: 2222 })] })).hosts[0]!;
  t.match(sshdDropIn(other), /^Port 2222$/m);
});

t.test('known_hosts lines name the host and its address', async (t) => {
  const cases = [
    { host: db!, key: 'ssh-ed25519 AAAA root@db-prod\n', line: 'db-prod,10.213.7.10 ssh-ed25519 AAAA' },
    { host: { ...db!, sshPort: 2222 }, key: 'ssh-ed25519 AAAA', line: '[db-prod]:2222,[10.213.7.10]:2222 ssh-ed25519 AAAA' },
  ];
  for (const c of cases) t.equal(knownHostsLine(c.host, c.key), c.line);
  t.equal(knownHostsText([{ host: db!, publicKey: keyOf('db') }, { host: app! }, { host: app!, publicKey: '  ' }]), '# written by ironclad lab up\ndb-prod,10.213.7.10 ssh-ed25519 AAAAkey-of-db\n', 'hosts without a key are left out');
  t.equal(knownHostsText([{ host: db! }]), '', 'no key, no file');
});

t.test('known_hosts files: one per path, each with its hosts', async (t) => {
  const files = wantedKnownHosts(plan, (path) => (path.includes('/staging/') ? undefined : keyOf(path.split('/')[4]!)));
  t.same([...files.keys()], ['/var/lib/icl-test/known_hosts']);
  t.same(files.get('/var/lib/icl-test/known_hosts')!.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ')[0]), ['db-prod,10.213.7.10', 'app-prod,10.213.7.11', 'backup-far,10.213.7.12'], 'staging has no key yet');
  const split = planLab(labInventory({ hosts: [labHost('a', '10.213.7.10'), labHost('b', '10.213.7.11', { known_hosts: '/elsewhere/known_hosts' })] }));
  const two = wantedKnownHosts(split, () => undefined);
  t.same([...two.entries()], [['/var/lib/icl-test/known_hosts', ''], ['/elsewhere/known_hosts', '']], 'an empty text means: remove the file');
});
