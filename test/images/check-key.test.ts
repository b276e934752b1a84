// The routine check's host-to-host key: the public key a (hostile) replica host proposes, the source's authorized_keys
// line, the scanner entry point run for real with what a hostile replica can send, and apply's steps on both hosts.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { authorizedKeysScript, authorizedLine, checkKeyPaths, fromAddress, keyUnitsOf, ourLine, parsePublicKey, renderSourceEntry } from '../../src/images/check-key.js';
import { keyedPairs, replicaKeySteps, sourceKeySteps, type KeyFiles } from '../../src/images/check-key-steps.js';
import type { Host, ImagePair } from '../../src/inventory/types.js';
import { sourceTree } from './fixtures/trees.js';

const B64 = 'AAAAC3NzaC1lZDI1NTE5AAAAICHYImSOjE0MXpki2OJfQKy4RTTm3KeO9Qw44MuFL7f1';
const KEY = `ssh-ed25519 ${B64}`;
const UNIT = 'ironclad-images-check-uploads';
const ENTRY = '/usr/local/sbin/ironclad-images-source-uploads';

/** An ed25519-shaped blob with another type string or key length (well-formed base64 of the same length). */
function blob(type: string, keyLen: number): string {
  const t = Buffer.from(type);
  const b = Buffer.alloc(4 + t.length + 4 + keyLen);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(keyLen, 4 + t.length);
  return b.toString('base64');
}

t.test('the public key the replica host proposes is made canonical, or refused', async (t) => {
  t.equal(parsePublicKey(`${KEY} ironclad-images-check-uploads@backup-far\n`), KEY, 'its comment dropped');
  t.equal(parsePublicKey(KEY), KEY);
  const hostile: [string, string][] = [
    [`${KEY}\nssh-ed25519 ${B64} evil`, 'a second line'],
    [`${KEY} x\nssh-ed25519 ${B64} evil\n`, 'a second line after a comment'],
    [`command="sh" ${KEY}`, 'options before the key'],
    [`ssh-rsa ${B64}`, 'another type'],
    [`ssh-ed25519 ${B64}=`, 'padding'],
    [`ssh-ed25519 ${B64.slice(0, -1)}`, 'short'],
    [`ssh-ed25519 ${blob('ssh-ed25518', 32)}`, 'a blob of another type'],
    [`ssh-ed25519 ${blob('ssh-ed25519', 31)}AAAA`.slice(0, 80), 'a blob with a short key'],
    [`ssh-ed25519  ${B64}`, 'two spaces'],
    ['', 'nothing'],
  ];
  for (const [text, why] of hostile) t.equal(parsePublicKey(text), null, why);
});

t.test('the authorized_keys line: restrict, from the replica, the fixed entry point, the unit as its mark', async (t) => {
  t.equal(authorizedLine({ unit: UNIT, publicKey: `${KEY} root@evil"`, from: '10.213.7.12' }), `restrict,from="10.213.7.12",command="${ENTRY}" ${KEY} ${UNIT}`);
  t.equal(authorizedLine({ unit: UNIT, publicKey: KEY }), `restrict,command="${ENTRY}" ${KEY} ${UNIT}`, 'no from= without an IP address');
  t.equal(fromAddress('backup.example.com'), undefined, 'a name is not put in from= (sshd matches names only with UseDNS)');
  t.equal(fromAddress('fd00::12'), 'fd00::12');
  t.throws(() => authorizedLine({ unit: UNIT, publicKey: `${KEY}\n${KEY}` }), /not an ed25519 public key/);
  t.throws(() => authorizedLine({ unit: UNIT, publicKey: KEY, from: '10.0.0.1",command="sh' }), /from= takes an IP address/);
  t.throws(() => authorizedLine({ unit: 'ironclad-images-check-a"b', publicKey: KEY }), /bad check unit/);
  t.same(ourLine(`restrict,from="10.213.7.12",command="${ENTRY}" ${KEY} ${UNIT}`), { unit: UNIT, key: KEY });
  t.same(ourLine(`ssh-ed25519 ${B64} ${UNIT}`), { unit: UNIT, key: null }, 'a hand-made line with our mark is ours (replaced), its key not trusted');
  t.equal(ourLine(`ssh-ed25519 ${B64} root@laptop`), null);
  t.same(keyUnitsOf(['/var/lib/ironclad/images/keys/ironclad-images-check-a.pub', '/var/lib/ironclad/images/keys/ironclad-images-check-a', `${ENTRY}`, '/usr/local/sbin/ironclad-images-check-b']), { keys: ['ironclad-images-check-a'], entries: [UNIT] });
});

t.test('the entry point refuses whatever a hostile replica sends but the scanner words; those scan the fixed tree', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'tree'));
  const pair: ImagePair = { name: 'uploads', source: { host: 'a', path: join(dir, 'tree') }, replica: { host: 'b', path: '/r' }, check: { schedule: 'daily' } };
  const entry = join(dir, 'entry');
  writeFileSync(entry, renderSourceEntry(pair, UNIT));
  chmodSync(entry, 0o755);
  const sc = spawnSync('shellcheck', ['-s', 'sh', entry], { encoding: 'utf8' });
  t.equal(sc.stdout + sc.stderr, '', 'the installed entry point is shellcheck-clean');
  const home = join(dir, 'home');
  // as sshd runs a forced command: the login shell's -c with the command, the client's words in SSH_ORIGINAL_COMMAND
  const as = (words: string | undefined) =>
    spawnSync('bash', ['-c', entry], { encoding: 'buffer', env: { PATH: '/usr/bin:/bin', HOME: home, ...(words === undefined ? {} : { SSH_ORIGINAL_COMMAND: words }), XDG_CACHE_HOME: join(dir, 'elsewhere') } });
  const canary = join(dir, 'pwned');
  const hostile = [
    undefined,
    '',
    'sh',
    'sh -i',
    'bash -c id',
    `op=probe; touch ${canary}`,
    `op=probe && touch ${canary}`,
    `op=probe\ntouch ${canary}`,
    `op=probe $(touch ${canary})`,
    `op=probe \`touch ${canary}\``,
    `op=scan algo=sha256 mode=rehash root=/etc`,
    `op=scan algo=sha256 mode=rehash manifest=${canary}`,
    'op=scan algo=sha256 mode=rehash cachedir=/',
    'op=scan algo=sha256 mode=rehash jobs=9999',
    'op=scan algo=../../../bin/sh mode=rehash',
    'op=scan algo=sha256 mode=sample permyriad=10000',
    'op=scan algo=sha256 mode=slice slices=0 slice=0',
    'op=scan algo=sha256 mode=slice slices=4 slice=4',
    'op=scan algo=sha256 mode=slice slices=1000000 slice=1',
    'op=scan algo=sha256 mode=slice slices=04 slice=1',
    'op=scan algo=sha256 mode=slice slices=-4 slice=1',
    'op=scan algo=sha256 mode=rehash slices=4 slice=1',
    'op=scan algo=sha256',
    'op=scan mode=rehash',
    'op=probe op=scan',
    'op=probe algo=sha256',
    'op=scan algo=sha256 algo=blake3 mode=rehash',
    'op=manifest x',
    'op=probe\top=scan',
    'op=* algo=*',
    'scp -t /tmp',
    'scp -f /etc/shadow',
    'internal-sftp',
    '/usr/lib/openssh/sftp-server',
    'rsync --server --sender -vlogDtpre.iLsfxC . /etc',
    `op=probe ${'x'.repeat(300)}`,
  ];
  for (const words of hostile) {
    const r = as(words);
    t.equal(r.status, 64, `refused: ${JSON.stringify(words)} (${r.stderr.toString().trim()})`);
    t.equal(r.stdout.length, 0, 'nothing on stdout');
  }
  t.notOk(existsSync(canary), 'nothing it sent was run');
  t.notOk(existsSync(home), 'nothing written by a refused call (not even the cache)');

  const probe = as('op=probe');
  t.equal(probe.status, 0, probe.stderr.toString());
  t.match(probe.stdout.toString(), /^algos=sha256[a-z0-9,]*\nread=yes\n$/, 'the probe says its hashes only, and that it reads');
  t.equal(as('op=manifest').status, 66, 'no manifest before a scan');
  const scan = as('op=scan algo=sha256 mode=rehash');
  t.equal(scan.status, 0, scan.stderr.toString());
  t.match(scan.stdout.toString(), /^files=17\n/m, 'the fixed tree scanned');
  t.notOk(existsSync(join(dir, 'elsewhere')), "a client's XDG_CACHE_HOME is not followed");
  const manifest = as('op=manifest');
  t.equal(manifest.status, 0);
  const records = execFileSync('gzip', ['-dc'], { input: manifest.stdout }).toString().split('\0').filter(Boolean);
  t.equal(records.length, 17, 'the manifest of that tree, gzipped');
  t.equal(as('op=manifest').status, 66, 'given once, then removed');
  t.equal(as('op=scan algo=sha256 mode=slice slices=4 slice=3').status, 0, 'a slice');
  t.equal(as('op=forget').status, 0);
  t.equal(as('op=manifest').status, 66, 'forgotten');
  t.same(readdirSync(join(home, '.cache', 'ironclad', 'images')).filter((f) => !/\.(sha256\.tsv|lock)$/.test(f)), [], 'only the hash cache left on the source');
});

const host = (name: string, address: string) => ({ name, address, ssh: { user: 'root', port: 22, known_hosts: '/k' } }) as unknown as Host;
const A = host('app-prod', '10.213.7.11');
const B = host('backup-far', '10.213.7.12');
const PAIR: ImagePair = { name: 'uploads', source: { host: 'app-prod', path: '/srv/app/uploads' }, replica: { host: 'backup-far', path: '/srv/r' }, check: { schedule: '*-*-* 04:10:00' } };
const files = (f: [string, string][] = [], authorized: string[] = []): KeyFiles => ({ systemd: false, files: new Map(f), authorized });

t.test("apply's steps: the key made on the replica, the source waits for it, then allows it; nothing twice; removal", async (t) => {
  const keyed = keyedPairs({ images: [PAIR, { ...PAIR, name: 'local', replica: { host: 'app-prod', path: '/r' } }, { ...PAIR, name: 'unchecked', check: undefined }], hosts: [A, B] });
  t.same(keyed.map((k) => k.unit), [UNIT], 'only a checked pair across two hosts needs a key');
  const p = checkKeyPaths(UNIT);
  const kh = '10.213.7.11 ssh-ed25519 AAAAhostkey\n';
  const replica = (have: KeyFiles, pairs = keyed) => replicaKeySteps({ host: 'backup-far', pairs, have, knownHosts: () => kh });
  const fresh = replica(files());
  t.same(fresh.map((c) => c.description), [`make the SSH key of the routine image check of uploads on backup-far (${p.key}, ed25519; its private half never leaves the host)`, `install app-prod's host key for its check (from the inventory's known_hosts) (${p.knownHosts})`]);
  t.match(fresh[0].commands[0], { kind: 'sh', script: /ssh-keygen -q -t ed25519 -N '' -C ironclad-images-check-uploads@backup-far -f \/var\/lib\/ironclad\/images\/keys\/ironclad-images-check-uploads >\/dev\/null/ });
  const made = files([[p.key, ''], [p.pub, `${KEY} c\n`], [p.knownHosts, kh]]);
  t.same(replica(made), [], 'a second apply changes nothing on the replica');
  t.same(replica(files([[p.key, ''], [p.pub, `${KEY}\n${KEY} evil\n`], [p.knownHosts, kh]])).map((c) => c.description.split(' (')[0]), ['make the SSH key of the routine image check of uploads on backup-far'], 'a public half that is not one key: made anew');
  t.match(replica(made, []).map((c) => c.commands), [[{ kind: 'sh', script: `rm -f ${p.key} ${p.pub} ${p.knownHosts}` }]], 'removed with the check');

  const source = (have: KeyFiles, key: string | null, pairs = keyed) => sourceKeySteps({ host: A, pairs, have, keyOf: () => key });
  const waiting = source(files(), null);
  t.same(waiting.map((c) => `${c.operation}: ${c.description.split(' (')[0]}`), ["images: install the scanner entry point of uploads's check, the only command its key runs", 'deferred: waits for the check key of backup-far']);
  const line = `restrict,from="10.213.7.12",command="${ENTRY}" ${KEY} ${UNIT}`;
  const allow = source(files([[ENTRY, renderSourceEntry(PAIR, UNIT)]]), KEY);
  t.equal(allow.length, 1);
  t.match(allow[0], { operation: 'images', description: /^let backup-far \(uploads\) run only the check's scanner as root \(~root\/\.ssh\/authorized_keys/, diff: /\+ restrict,from="10\.213\.7\.12",command=/ });
  t.match(allow[0].commands[0], { kind: 'sh', stdin: `${line}\n`, script: /grep -v -E ' ironclad-images-check-\[a-z0-9_-\]\+\$' "\$f"/ });
  const installed = files([[ENTRY, renderSourceEntry(PAIR, UNIT)]], [line]);
  t.same(source(installed, KEY), [], 'a second apply changes nothing on the source');
  t.same(source(installed, null), [{ operation: 'deferred', description: 'waits for the check key of backup-far (made by this apply, or on a host not contacted now: apply again once it is reachable)', commands: [] }], 'a key being made anew: the old line kept meanwhile');
  const other = 'ssh-ed25519 AAAAother ironclad-images-check-a'; // a hand-made or stale line with our mark
  t.match(source(files([[ENTRY, renderSourceEntry(PAIR, UNIT)]], [line, other]), KEY)[0], { commands: [{ stdin: `${line}\n` }] }, 'a line of ours no pair asks for goes');
  const gone = source(installed, KEY, []);
  t.same(gone.map((c) => c.commands.map((x) => (x.kind === 'sh' ? x.stdin ?? x.script : ''))), [[''], [`rm -f ${ENTRY}`]], 'removed with the check: no line of ours, no entry point');
});

t.test("the source's authorized_keys rewritten for real: every other line kept as it was, ours replaced, mode kept", async (t) => {
  const dir = t.testdir({ bin: {}, home: { '.ssh': {} } });
  const me = execFileSync('id', ['-un']).toString().trim();
  // getent as the host answers it, with this test's home for the account
  writeFileSync(join(dir, 'bin', 'getent'), `#!/bin/sh\necho "${me}:x:0:0::${join(dir, 'home')}:/bin/sh"\n`);
  chmodSync(join(dir, 'bin', 'getent'), 0o755);
  const file = join(dir, 'home', '.ssh', 'authorized_keys');
  const lab = `ssh-ed25519 ${B64} ironclad-lab`;
  const noEol = 'command="backup" ssh-ed25519 AAAAx no-newline-at-end';
  writeFileSync(file, `${lab}\nssh-ed25519 AAAAold ${UNIT}\n# a comment ironclad-images-check-x is not at the end\nssh-ed25519 AAAAstale ironclad-images-check-gone\n${noEol}`);
  chmodSync(file, 0o640);
  const line = authorizedLine({ unit: UNIT, publicKey: KEY, from: '10.213.7.12' });
  const run = (stdin: string) => execFileSync('sh', ['-c', authorizedKeysScript(me)], { input: stdin, env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` } });
  run(`${line}\n`);
  t.equal(readFileSync(file, 'utf8'), `${lab}\n# a comment ironclad-images-check-x is not at the end\n${noEol}\n${line}\n`);
  t.equal(statSync(file).mode & 0o777, 0o640, 'its mode kept');
  run('');
  t.equal(readFileSync(file, 'utf8'), `${lab}\n# a comment ironclad-images-check-x is not at the end\n${noEol}\n`, 'none of ours when none is wanted');
  t.same(readdirSync(join(dir, 'home', '.ssh')), ['authorized_keys'], 'no temporary file left');
});
