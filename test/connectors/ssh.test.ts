// The ssh connector against an in-process SSH server (ssh2's): a connection lost after it opened (here reset by the
// server in the middle of a command) ends that command with exit 255 and the reason, and never throws out of the
// process (an unhandled 'error' event would end every host's run); and its socket has Nagle's algorithm off.
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import t, { type Test } from 'tap';
import { sshConnector } from '../../src/connectors/ssh.js';
import type { Host } from '../../src/inventory/types.js';

/** An in-process SSH server that accepts anyone and starts each command without ending it, and a host naming it. */
async function server(t: Test) {
  const dir = t.testdir();
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519');
  const userKey = ssh2.utils.generateKeyPairSync('ed25519');
  const sockets: Socket[] = [];
  let started!: () => void;
  const commandStarted = new Promise<void>((r) => (started = r));
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => ctx.accept());
    client.on('ready', () =>
      client.on('session', (accept) =>
        accept().on('exec', (acceptExec) => {
          acceptExec().write('started\n');
          started();
        }),
      ),
    );
    client.on('error', () => undefined);
  });
  (server as unknown as { _srv: { on(e: 'connection', f: (s: Socket) => void): void } })._srv.on('connection', (s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey.public}\n`);
  writeFileSync(join(dir, 'id'), userKey.private, { mode: 0o600 });
  const host = { name: 'h1', address: '127.0.0.1', tags: [], ssh: { user: 'root', port, identity_file: join(dir, 'id'), known_hosts: join(dir, 'known_hosts'), connect_timeout: 5, command_timeout: 60 } } as unknown as Host;
  return { host, sockets, commandStarted };
}

t.test('a connection reset in the middle of a command ends it (255, connection lost), the process lives on', async (t) => {
  const { host, sockets, commandStarted } = await server(t);

  const crashes: unknown[] = [];
  const onUncaught = (e: unknown) => crashes.push(e);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));

  const conn = await sshConnector(host);
  t.teardown(() => conn.close());
  const running = conn.run('sleep 600');
  await commandStarted;
  for (const s of sockets) s.resetAndDestroy();
  const r = await running;
  t.equal(r.code, 255);
  t.match(r.stderr, /h1: connection lost: .*ECONNRESET/);
  const next = await conn.run('true');
  t.equal(next.code, 255, 'a later command on the lost connection fails at once');
  t.match(next.stderr, /connection lost/);
  await new Promise((r) => setTimeout(r, 50));
  t.same(crashes, [], 'nothing thrown out of the process');
});

t.test("the connection's socket has Nagle's algorithm off from the key exchange on (small packets are not held for the server's delayed ACK)", async (t) => {
  const { host } = await server(t);
  const calls: unknown[] = [];
  const original = Socket.prototype.setNoDelay;
  Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
    calls.push({ noDelay, connecting: this.connecting });
    return original.call(this, noDelay);
  };
  t.teardown(() => void (Socket.prototype.setNoDelay = original));
  const conn = await sshConnector(host);
  t.teardown(() => conn.close());
  t.same(calls, [{ noDelay: true, connecting: true }], 'set once, while the socket connects (before any SSH packet)');
});
