// Unit tests of reaching lab hosts: the ssh command line, and the banner check against local sockets.
import { createServer, type Server } from 'node:net';
import t from 'tap';
import { planLab } from '../../src/lab/plan.js';
import { sshAnswers, sshCommand } from '../../src/lab/ssh.js';
import { labInventory } from './fixtures/inventory.js';

const db = planLab(labInventory()).hosts[0]!;

t.test('ssh: lab key, lab known_hosts, strict checking, the script as one word', async (t) => {
  const cmd = sshCommand(db, "echo 'hi' && hostname");
  t.equal(
    cmd,
    "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/var/lib/icl-test/known_hosts -o GlobalKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o ConnectTimeout=5 -o LogLevel=ERROR -i /var/lib/icl-test/id_ed25519 -p 22 root@10.213.7.10 'echo '\\''hi'\\'' && hostname'",
  );
  t.match(sshCommand(db, 'id', 'postgres'), / postgres@10\.213\.7\.10 id$/);
});

/** A local server greeting each connection with `greeting` (or nothing). */
async function server(greeting: string | null): Promise<{ port: number; server: Server }> {
  const s = createServer((c) => {
    c.on('error', () => {});
    if (greeting !== null) c.write(greeting);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, server: s };
}

t.test('the banner check', async (t) => {
  const cases = [
    { name: 'an sshd', greeting: 'SSH-2.0-OpenSSH_9.2p1\r\n', answers: true },
    { name: 'something else', greeting: 'HTTP/1.1 400 Bad Request\r\n\r\n', answers: false },
    { name: 'silence', greeting: null, answers: false },
  ];
  for (const c of cases) {
    const { port, server: s } = await server(c.greeting);
    t.equal(await sshAnswers('127.0.0.1', port, 300), c.answers, c.name);
    s.close();
  }
  const { port, server: s } = await server(null);
  s.close();
  await new Promise((r) => s.once('close', r));
  t.equal(await sshAnswers('127.0.0.1', port, 300), false, 'nobody listening');
});
