// The ssh connector against a real lab sshd: a verified key connects; an unknown or changed key is refused.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { sshConnector } from '../../src/connectors/ssh.js';
import { findHost } from '../../src/inventory/types.js';
import { labAddress, labUnavailable, withLab } from './helpers/lab.js';
import { tempDir } from '../fixtures/tmp.js';

async function main() {
  const lab = await withLab(t);
  const host = findHost(lab.inventory, 'db-prod')!;
  const dir = tempDir('ironclad-kh-');

  await t.test('a verified host key connects, and one connection serves many commands', async (t) => {
    const conn = await sshConnector(host);
    t.equal((await conn.run('hostname')).stdout.trim(), 'db-prod');
    const r = await conn.run('exit 7');
    t.equal(r.code, 7, 'a non-zero exit is a value, not an exception');
    const slow = await conn.run('sleep 5', { timeoutMs: 300 });
    t.equal(slow.code, 124, 'a command timeout');
    await conn.close();
  });

  await t.test("more commands at once than sshd's MaxSessions (10) all run: the others wait for a channel", async (t) => {
    const conn = await sshConnector(host);
    const held = await conn.hold('echo held; sleep 30');
    t.equal(held, undefined, 'a held channel counts too');
    // slow ones that end together, then quick ones that open and close channels as fast as they can
    for (const [n, work] of [[24, 'sleep 0.2;'], [200, '']] as const) {
      const results = await Promise.all(Array.from({ length: n }, (_, i) => conn.run(`${work} echo ${i}`)));
      t.same(results.map((r) => r.code), Array(n).fill(0), results.map((r) => r.stderr).filter(Boolean).join('; '));
      t.same(results.map((r) => r.stdout.trim()), Array.from({ length: n }, (_, i) => String(i)));
    }
    await conn.close();
  });

  await t.test('a changed host key is refused, with the way to fix it', async (t) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'other')]);
    const other = readFileSync(join(dir, 'other.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    const changed = readFileSync(host.ssh.known_hosts, 'utf8').split('\n').map((l) => (l.includes(host.address) ? `${l.split(' ')[0]} ${other}` : l)).join('\n');
    writeFileSync(join(dir, 'changed'), changed);
    await t.rejects(sshConnector({ ...host, ssh: { ...host.ssh, known_hosts: join(dir, 'changed') } }), /HOST KEY CHANGED for db-prod .*refusing to connect/s);
  });

  await t.test('an unknown host key is refused (no trust on first use)', async (t) => {
    writeFileSync(join(dir, 'empty'), '');
    await t.rejects(sshConnector({ ...host, ssh: { ...host.ssh, known_hosts: join(dir, 'empty') } }), /is not in .*no trust on first use/s);
  });

  await t.test('an unreachable host fails clearly within the connect timeout', async (t) => {
    const started = Date.now();
    const nobody = labAddress(lab.plan, 250);
    await t.rejects(sshConnector({ ...host, address: nobody, ssh: { ...host.ssh, connect_timeout: 2 } }), new RegExp(`cannot connect to root@${nobody.replace(/\./g, '\\.')}:22`));
    t.ok(Date.now() - started < 10000);
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
