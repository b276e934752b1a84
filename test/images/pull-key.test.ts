// A pulled repair with the pair's check key: the replica's host runs repair.sh, whose fetch asks the source's entry
// point (check-source.sh, op=read) for each file. `ssh` here is a stand-in for sshd's side: the pair's key gets the
// entry point as its forced command; root's own key works only when the test says so. Which key served is logged.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { pullIdentity } from '../../src/images/check-key-steps.js';
import { renderSourceEntry } from '../../src/images/check-key.js';
import { fetchCommand, sshArgs, type SshTarget } from '../../src/images/repair-script.js';
import { repairImages } from '../../src/images/repair.js';
import type { Side } from '../../src/images/side.js';
import type { Host, ImagePair } from '../../src/inventory/types.js';
import { REPAIR_CASE, repairReplica, repairSource } from './fixtures/repair-trees.js';

const UNIT = 'ironclad-images-check-uploads';
const base = { name: 'uploads', hash: 'sha256' as const, mode: { kind: 'cached' as const }, via: 'auto' as const, dryRun: false, confirm: async () => true };

function lab(t: Test) {
  const dir = t.testdir();
  repairSource(join(dir, 'src'));
  repairReplica(join(dir, 'src'), join(dir, 'dst'));
  const pair: ImagePair = { name: 'uploads', source: { host: 'app-prod', path: join(dir, 'src') }, replica: { host: 'backup-far', path: join(dir, 'dst') }, check: { schedule: 'daily' } };
  const entry = join(dir, 'entry');
  writeFileSync(entry, renderSourceEntry(pair, UNIT));
  chmodSync(entry, 0o755);
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  const identity = { key: join(keys, UNIT), knownHosts: join(keys, `${UNIT}.known_hosts`) };
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    join(dir, 'bin', 'ssh'),
    `#!/bin/bash
key=''
while [ $# -gt 0 ]; do case $1 in -i) key=$2; shift 2 ;; --) shift; break ;; *) shift ;; esac; done
shift # user@address
if [ -n "$key" ]; then
  [ "$key" = ${identity.key} ] && [ -f "$key" ] || { echo 'Permission denied (publickey).' >&2; exit 255; }
  echo "key $*" >>${dir}/ssh.log
  SSH_ORIGINAL_COMMAND="$*" exec bash -c ${entry}
fi
[ -e ${dir}/own-key ] || { echo 'Permission denied (publickey).' >&2; exit 255; }
echo "own ${'$'}{1:0:5}" >>${dir}/ssh.log
exec sh -c "$*"
`,
  );
  chmodSync(join(dir, 'bin', 'ssh'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${join(dir, 'bin')}:${path}`;
  t.teardown(() => void (process.env.PATH = path));
  const side = (role: Side['role'], host: string, p: string): Side => ({ role, location: { kind: 'host', host, path: p }, connector: localConnector(host), cacheDir: join(dir, `cache-${host}`) });
  const pull: SshTarget = { user: 'root', address: '10.213.7.11', port: 22, identity };
  const log = () => readFileSync(join(dir, 'ssh.log'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(dir, 'ssh.log'), '');
  return { dir, pair, entry, identity, pull, log, sides: { source: side('source', 'app-prod', join(dir, 'src')), replica: side('replica', 'backup-far', join(dir, 'dst')) } };
}

t.test("the pair's check key installed: the replica pulls through the source's entry point, root's key never used", async (t) => {
  const { dir, identity, pull, log, sides } = lab(t);
  writeFileSync(identity.key, 'k');
  writeFileSync(identity.knownHosts, 'h');
  const r = await repairImages({ ...base, ...sides, pull });
  t.match(r.transfer, { mode: 'pull', reason: "backup-far reaches app-prod with the pair's check key (its only command there reads this pair's tree; host key pinned): it pulls the files directly" });
  t.same([r.copied, r.replaced, r.failed], [REPAIR_CASE.missing, REPAIR_CASE.replaced, []]);
  for (const p of [...REPAIR_CASE.missing, ...REPAIR_CASE.replaced]) t.same(readFileSync(join(dir, 'dst', p)), readFileSync(join(dir, 'src', p)), `${p}: the source's bytes`);
  t.same(log(), ['key op=probe', ...Array(7).fill('key op=read offset=1')], 'one probe, then one read a file, all with the key');
});

t.test('no check key on the replica: as before, root\'s own key pulls (or the bytes stream through this machine)', async (t) => {
  const { dir, pull, log, sides } = lab(t);
  writeFileSync(join(dir, 'own-key'), '');
  const r = await repairImages({ ...base, ...sides, pull });
  t.match(r.transfer, { mode: 'pull', reason: /^backup-far reaches app-prod with its own SSH key/ });
  t.same(r.failed, []);
  t.same(log(), ['own true', ...Array(7).fill('own sh -c')]);
});

t.test('a key whose entry point predates op=read, or that the source refuses: said, and the next way taken', async (t) => {
  const { dir, entry, identity, pull, sides } = lab(t);
  writeFileSync(identity.key, 'k');
  writeFileSync(identity.knownHosts, 'h');
  writeFileSync(entry, readFileSync(entry, 'utf8').replace('    echo read=yes\n', ''));
  const old = await repairImages({ ...base, ...sides, pull, dryRun: false });
  t.match(old.transfer, { mode: 'controller', reason: /^the pair's check key reaches app-prod, whose entry point cannot read yet \(apply again\); backup-far has no SSH access of its own/ });
  t.same(old.failed, []);
  repairReplica(join(dir, 'src'), join(dir, 'dst2'));
  const wrong = { ...pull, identity: { ...identity, key: join(dir, 'keys', 'another') } };
  writeFileSync(wrong.identity.key, 'k');
  await t.rejects(repairImages({ ...base, ...sides, replica: { ...sides.replica, location: { kind: 'host', host: 'backup-far', path: join(dir, 'dst2') } }, pull: wrong, via: 'pull' }), /the pair's check key did not serve \(Permission denied \(publickey\)\.\); backup-far cannot reach app-prod over SSH by itself/);
});

t.test('which pull gets a key: the checked pair with exactly these trees on two hosts; the ssh words', async (t) => {
  const h = (name: string) => ({ name, address: '10.0.0.1', ssh: { user: 'root', port: 22, known_hosts: '/k' } }) as unknown as Host;
  const pair: ImagePair = { name: 'up.loads', source: { host: 'a', path: '/s' }, replica: { host: 'b', path: '/r' }, check: { schedule: 'daily' } };
  const inv = { images: [pair], hosts: [h('a'), h('b')] };
  const at = (host: string, path: string) => ({ kind: 'host' as const, host, path });
  t.same(pullIdentity(inv, at('a', '/s'), at('b', '/r')), { key: '/var/lib/ironclad/images/keys/ironclad-images-check-up_loads', knownHosts: '/var/lib/ironclad/images/keys/ironclad-images-check-up_loads.known_hosts' });
  t.equal(pullIdentity(inv, at('a', '/s/sub'), at('b', '/r')), undefined, 'another tree: its entry point reads /s only');
  t.equal(pullIdentity(inv, at('b', '/r'), at('a', '/s')), undefined, 'the other way round: no key');
  t.equal(pullIdentity({ ...inv, images: [{ ...pair, check: undefined }] }, at('a', '/s'), at('b', '/r')), undefined, 'no check, no key');
  const target = { user: 'root', address: '10.0.0.1', port: 2222, identity: { key: '/k/x', knownHosts: '/k/x.kh' } };
  t.equal(sshArgs(target, 5), 'ssh -i /k/x -o IdentitiesOnly=yes -o UserKnownHostsFile=/k/x.kh -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -p 2222 -- root@10.0.0.1');
  t.equal(fetchCommand('/ignored', target), `exec ${sshArgs(target)} "op=read offset=$1"`, 'the entry point\'s words only: no script, no path travels as a command');
});
