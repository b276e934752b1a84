// images compare between two lab hosts for real: each tree is scanned on its own host over SSH (host keys checked),
// only manifests come back; every kind of discrepancy is found, the flipped bit included. Then the routine check:
// apply installs its job and cron file on the replica's host, the job run by hand as cron runs it (no Node.js there)
// writes what `images compare` and `audit` read, reaching the source with the key apply made for it (whose only
// command there is the pair's scanner: a shell, another tree, scp and forwarding are refused), and apply removes it
// all once the inventory no longer asks; a pulled repair with that key (op=read of the entry point). Needs root.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { imagesFamily } from '../../scripts/images.js';
import type { Finding } from '../../src/audit/types.js';
import { shq } from '../../src/core/quote.js';
import { runFamily } from '../images/fixtures/cli.js';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab, type LabHandle } from './helpers/lab.js';

const SOURCE = { host: 'app-prod', path: '/srv/app/uploads' };
const REPLICA = { host: 'backup-far', path: '/srv/ironclad/images/uploads' };

/**
 * The same tree on a host, written by sh alone (no Node.js there); the replica then gets one of each discrepancy.
 * The flipped bit: one byte read with od, xor 1, written back with dd, and the mtime put back with touch -r.
 */
const buildTree = (root: string, role: 'source' | 'replica') => `set -eu
root=${shq(root)}
rm -rf "$root" && mkdir -p "$root/photos/2024" "$root/ünïcödé" && cd "$root"
i=0
while [ $i -lt 60 ]; do seq $((i * 100)) $((i * 100 + 400 + i * 13)) >"photos/2024/img_$i.jpg"; i=$((i + 1)); done
printf 'space\\n' >'with space.jpg'
printf 'newline\\n' >"$(printf 'new\\nline.jpg')"
printf 'tab\\n' >"$(printf 'tab\\there.jpg')"
printf 'unicode\\n' >'ünïcödé/名前.jpg'
seq 1 20000 >photos/rot.jpg
printf 'deleted from the backup' >photos/gone.jpg
printf 'the backup has a truncated copy of this' >photos/short.jpg
find . -type f -exec touch -d '2024-01-02 03:04:05' {} +
if [ ${shq(role)} = replica ]; then
  rm photos/gone.jpg
  printf 'only in the backup' >photos/extra.jpg
  printf 'the backup has a' >photos/short.jpg
  touch -r photos/rot.jpg /tmp/rot.ref
  b=$(dd if=photos/rot.jpg bs=1 skip=5000 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
  printf "\\\\$(printf %03o $((b ^ 1)))" | dd of=photos/rot.jpg bs=1 seek=5000 conv=notrunc 2>/dev/null
  touch -r /tmp/rot.ref photos/rot.jpg && rm /tmp/rot.ref
fi
`;

/** Run `ironclad -i lab.yaml images --json compare ARGS` in this process; exit code and the JSON document. */
async function compare(t: Test, lab: LabHandle, args: string[]) {
  const { code, out } = await runFamily(t, imagesFamily, ['images', '-i', lab.inventoryFile, '--json', 'compare', ...args]);
  return { code, doc: JSON.parse(out) };
}

const unavailable = labUnavailable();
t.test('images compare between two lab hosts', { skip: unavailable }, async (t) => {
  const lab = await withLab(t);
  await lab.sshOk(SOURCE.host, buildTree(SOURCE.path, 'source'));
  await lab.sshOk(REPLICA.host, buildTree(REPLICA.path, 'replica'));
  await Promise.all([SOURCE.host, REPLICA.host].map((h) => lab.sshOk(h, 'rm -rf ~/.cache/ironclad/images')));

  const first = await compare(t, lab, ['uploads']);
  t.equal(first.code, 3, 'discrepancies: exit 3');
  t.match(first.doc, {
    name: 'uploads',
    source: { files: 67, location: `${SOURCE.host}:${SOURCE.path}`, hashed: 67, cached: 0 },
    replica: { files: 67, location: `${REPLICA.host}:${REPLICA.path}`, hashed: 67 },
    missing: ['photos/gone.jpg'],
    extra: ['photos/extra.jpg'],
    size_mismatch: ['photos/short.jpg'],
    content_mismatch: ['photos/rot.jpg'],
    unreadable: [],
    equal: 64,
  });

  const again = await compare(t, lab, [`${SOURCE.host}:${SOURCE.path}`, `${REPLICA.host}:${REPLICA.path}`]);
  t.match(again.doc, { source: { hashed: 0, cached: 67 }, replica: { hashed: 0, cached: 67 }, content_mismatch: ['photos/rot.jpg'] }, 'a re-run hashes nothing');
  for (const h of [SOURCE.host, REPLICA.host]) {
    const left = await lab.sshOk(h, 'ls ~/.cache/ironclad/images');
    t.match(left, /^[0-9a-f]{16}\.(sha256|blake3)\.tsv$/m, `${h} keeps its hash cache`);
    t.notMatch(left, /manifest|progress|work/, `${h}: no run files left behind`);
  }

  await lab.sshOk(REPLICA.host, buildTree(REPLICA.path, 'source'));
  const fixed = await compare(t, lab, ['uploads', '--hash', 'fast']);
  t.equal(fixed.code, 0, 'once the replica is repaired: exit 0');
  t.match(fixed.doc, { missing: [], extra: [], size_mismatch: [], content_mismatch: [], equal: 67 });
  t.ok(['crc32', 'xxh128'].includes(fixed.doc.hash));

  const missing = await compare(t, lab, [`${SOURCE.host}:${SOURCE.path}`, `${REPLICA.host}:/srv/no/such/dir`]).catch((e: Error) => e);
  t.match(missing, { name: 'UserError', message: /no such directory/ }, 'a missing path on a host is bad input');
});

/** The lab inventory with a routine check on the uploads pair, beside lab.yaml (its relative paths and CA stay valid). */
function checkedInventory(t: Test): string {
  const file = LAB_INVENTORY.replace(/lab\.yaml$/, `.images-check-${process.pid}.yaml`);
  const text = readFileSync(LAB_INVENTORY, 'utf8').replace('    replica: { host: backup-far, path: /srv/ironclad/images/uploads }\n', '$&    check: { schedule: "*-*-* 04:10:00", days: 1 }\n');
  t.not(text, readFileSync(LAB_INVENTORY, 'utf8'), 'the check added to the pair');
  writeFileSync(file, text);
  t.teardown(() => rmSync(file, { force: true }));
  return file;
}

const changesOf = (plan: { hosts: { host: string; changes: { operation: string; description: string }[] }[] }, host: string) =>
  plan.hosts.find((h) => h.host === host)?.changes.filter((c) => c.operation === 'images' || (c.operation === 'deferred' && /check key/.test(c.description))).map((c) => c.description) ?? [];

const KEY = '/var/lib/ironclad/images/keys/ironclad-images-check-uploads';
const ENTRY = '/usr/local/sbin/ironclad-images-source-uploads';

t.test('the routine check as a job on the replica host, installed by apply with its own key', { skip: unavailable }, async (t) => {
  const lab = await withLab(t);
  const inv = checkedInventory(t);
  const limit = ['--limit', `${REPLICA.host},${SOURCE.host}`];
  const source = lab.host(SOURCE.host).address;
  await lab.sshOk(SOURCE.host, buildTree(SOURCE.path, 'source'));
  await lab.sshOk(REPLICA.host, buildTree(REPLICA.path, 'source'));
  // no key but apply's: none of root's own on the replica, no line of ours on the source
  await lab.sshOk(REPLICA.host, 'rm -f /var/lib/ironclad/images/uploads.* ~/.ssh/id_* ~/.ssh/known_hosts');
  const scrub = async () => {
    await lab.sshOk(SOURCE.host, `rm -f ${ENTRY}; sed -i '/ ironclad-images-check-/d' ~/.ssh/authorized_keys`);
    await lab.sshOk(REPLICA.host, 'rm -rf /var/lib/ironclad/images/keys /usr/local/sbin/ironclad-images-check-* /etc/cron.d/ironclad-images-check-*');
  };
  await scrub();
  t.teardown(scrub);

  const plan = await ironclad(['-i', inv, '--json', ...limit, 'plan']);
  const planned = JSON.parse(plan.stdout);
  t.match(changesOf(planned, REPLICA.host), [
    `make the SSH key of the routine image check of uploads on backup-far (${KEY}, ed25519; its private half never leaves the host)`,
    `install app-prod's host key for its check (from the inventory's known_hosts) (${KEY}.known_hosts)`,
    /^install the routine image check of uploads \(\/usr\/local\/sbin\/ironclad-images-check-uploads\)$/,
    /^install its schedule \*-\*-\* 04:10:00 \(cron\)/,
  ], 'plan shows the key, the pinned host key, the job and its schedule on the replica');
  t.match(changesOf(planned, SOURCE.host), [`install the scanner entry point of uploads's check, the only command its key runs (${ENTRY})`, /^waits for the check key of backup-far/], 'and on the source: the entry point, the line once the key is made');
  const applied = await ironclad(['-i', inv, '--yes', '--json', ...limit, 'apply']);
  t.equal(applied.code, 0, applied.stderr.slice(-500));
  t.match(await lab.sshOk(REPLICA.host, 'cat /etc/cron.d/ironclad-images-check-uploads'), /^10 4 \* \* \* root \/usr\/local\/sbin\/ironclad-images-check-uploads >\/var\/lib\/ironclad\/images\/uploads\.check\.log 2>&1$/m, 'the job is scheduled');
  const pub = (await lab.sshOk(REPLICA.host, `cat ${KEY}.pub`)).split(' ').slice(0, 2).join(' ');
  t.equal(await lab.sshOk(SOURCE.host, 'grep " ironclad-images-check-" ~/.ssh/authorized_keys'), `restrict,from="${lab.host(REPLICA.host).address}",command="${ENTRY}" ${pub} ironclad-images-check-uploads\n`, "the source allows the replica's key for its scanner only, from its address");
  t.equal(await lab.sshOk(REPLICA.host, `stat -c '%a %U' ${KEY} /var/lib/ironclad/images/keys`), '600 root\n700 root\n', 'the private half is root\'s alone');
  t.equal(await lab.sshOk(REPLICA.host, `cat ${KEY}.known_hosts`), `${(readFileSync(lab.inventory.hosts.find((h) => h.name === SOURCE.host)!.ssh.known_hosts, 'utf8').split('\n').find((l) => l.includes(source)) ?? 'none')}\n`, "app-prod's host key, as the inventory's known_hosts has it");
  const secret = (await lab.sshOk(REPLICA.host, `sed -n 2p ${KEY}`)).trim();
  t.ok(secret.length > 40);
  for (const out of [plan.stdout, plan.stderr, applied.stdout, applied.stderr]) t.notOk(out.includes(secret) || out.includes('PRIVATE KEY'), 'the private key is in no output');
  const again = JSON.parse((await ironclad(['-i', inv, '--json', ...limit, 'plan'])).stdout);
  t.same([changesOf(again, REPLICA.host), changesOf(again, SOURCE.host)], [[], []], 'a second plan: nothing to change for it on either host');

  // as cron runs it, with a `node` first on its PATH that fails: lab hosts see this machine's Node.js, the job must not
  await lab.sshOk(REPLICA.host, "mkdir -p /tmp/no-node && printf '#!/bin/sh\\necho node was called >&2; exit 99\\n' >/tmp/no-node/node && chmod 755 /tmp/no-node/node");
  const asCron = 'cd / && env -i PATH=/tmp/no-node:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root SHELL=/bin/sh /usr/local/sbin/ironclad-images-check-uploads';
  t.equal((await lab.ssh(REPLICA.host, 'PATH=/tmp/no-node:$PATH node -e 1')).code, 99, 'the failing node is the one found');
  const run = await lab.ssh(REPLICA.host, asCron);
  t.equal(run.code, 0, run.stderr);
  t.notMatch(run.stderr, /node was called/);
  t.match(run.stdout, /^images check uploads \(app-prod:\/srv\/app\/uploads -> \/srv\/ironclad\/images\/uploads, (blake3|sha256)\): 67 equal, 0 discrepancies/);
  t.equal(await lab.sshOk(SOURCE.host, 'ls ~/.cache/ironclad/images | grep -c manifest || true'), '0\n', 'no manifest left on the source');
  const audit = async () => (JSON.parse((await ironclad(['-i', inv, '--json', ...limit, 'audit'])).stdout).hosts as { findings: Finding[] }[]).flatMap((h) => h.findings);
  const first = await audit();
  t.match(first.find((f) => f.area === 'images' && f.subject === 'uploads'), { level: 'ok', message: '100% verified within 1 days, oldest 0 days ago' }, "the audit reads the job's record");
  t.notOk(first.find((f) => f.area === 'unknown' && f.subject === '/etc/cron.d/ironclad-images-check-uploads'), 'its cron file is no unknown to the audit');
  const compared = await compare(t, { ...lab, inventoryFile: inv }, ['uploads']);
  t.match(compared.doc, { equal: 67, coverage: { verified_fraction: 1, days: 1 } }, "images compare carries the job's coverage");

  // A hostile replica host holding the key gets the scanner of this one tree and nothing else.
  const as = `ssh -i ${KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${KEY}.known_hosts -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5`;
  t.match(await lab.sshOk(REPLICA.host, `${as} root@${source} op=probe`), /^algos=sha256/, 'the key works for what the job needs');
  await lab.sshOk(SOURCE.host, 'rm -f /tmp/pwned');
  const attacks: [string, string][] = [
    [`echo 'touch /tmp/pwned; id' | ${as} root@${source} sh`, 'a shell'],
    [`${as} root@${source} 'touch /tmp/pwned' </dev/null`, 'a command'],
    [`${as} root@${source} 'op=probe; touch /tmp/pwned'`, 'a command after the words'],
    [`${as} root@${source} op=scan algo=sha256 mode=rehash root=/etc`, 'another tree'],
    [`${as} root@${source} op=scan algo=sha256 mode=rehash manifest=/tmp/pwned`, 'a path to write'],
  ];
  for (const [cmd, what] of attacks) {
    const r = await lab.ssh(REPLICA.host, cmd);
    t.equal(r.code, 64, `${what}: refused by the entry point (${r.stderr.trim().split('\n').pop()})`);
    t.notMatch(r.stdout, /uid=/, `${what}: nothing ran`);
  }
  const login = await lab.ssh(REPLICA.host, `echo 'id; touch /tmp/pwned' | ${as} -tt root@${source}`);
  t.not(login.code, 0, `an interactive login: refused (${login.stderr.trim().replace(/\s+/g, ' ')})`);
  t.notMatch(login.stdout, /uid=/, 'an interactive login: no shell');
  const sc = `-i ${KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${KEY}.known_hosts -o GlobalKnownHostsFile=/dev/null`;
  const copies: [string, string][] = [
    [`rm -f /tmp/stolen; scp ${sc} root@${source}:/etc/hostname /tmp/stolen`, 'scp (sftp) reading a file'],
    [`rm -f /tmp/stolen; scp -O ${sc} root@${source}:/etc/hostname /tmp/stolen`, 'scp (legacy) reading a file'],
    [`scp -O ${sc} /etc/hostname root@${source}:/tmp/pwned`, 'scp writing a file'],
    [`echo 'get /etc/hostname /tmp/stolen' | sftp -b - ${sc} root@${source}`, 'sftp'],
    [`${as} -W 127.0.0.1:22 root@${source}`, 'a forwarded connection (-W)'],
    [`${as} -o ExitOnForwardFailure=yes -R 127.0.0.1:15999:127.0.0.1:22 root@${source} op=probe`, 'a remote port forward (-R)'],
  ];
  for (const [cmd, what] of copies) {
    const r = await lab.ssh(REPLICA.host, cmd);
    t.not(r.code, 0, `${what}: refused (${r.stderr.trim().split('\n').pop()})`);
  }
  t.equal((await lab.ssh(REPLICA.host, 'ls /tmp/stolen')).code, 2, 'nothing copied from the source');
  const forwarded = await lab.ssh(REPLICA.host, `${as} -N -L 127.0.0.1:15998:127.0.0.1:22 root@${source} & p=$!; sleep 1; timeout 5 ssh-keyscan -p 15998 127.0.0.1; kill $p`);
  t.notMatch(forwarded.stdout, /ssh-/, 'a local port forward (-L) reaches nothing: no sshd answers through it');
  t.equal((await lab.ssh(SOURCE.host, 'ls /tmp/pwned')).code, 2, 'nothing was written on the source');
  await lab.sshOk('staging', 'umask 077 && mkdir -p /tmp/stolen-key && cat >/tmp/stolen-key/key', { stdin: await lab.sshOk(REPLICA.host, `cat ${KEY}`) });
  await lab.sshOk('staging', 'cat >/tmp/stolen-key/kh', { stdin: await lab.sshOk(REPLICA.host, `cat ${KEY}.known_hosts`) });
  const elsewhere = await lab.ssh('staging', `ssh -i /tmp/stolen-key/key -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=/tmp/stolen-key/kh -o GlobalKnownHostsFile=/dev/null root@${source} op=probe; rc=$?; rm -rf /tmp/stolen-key; exit $rc`);
  t.equal(elsewhere.code, 255, `the key from another host: refused by from= (${elsewhere.stderr.trim().split('\n').pop()})`);

  await lab.sshOk(REPLICA.host, `rm ${shq(`${REPLICA.path}/photos/gone.jpg`)}`);
  t.equal((await lab.ssh(REPLICA.host, asCron)).code, 3, 'a file missing on the replica: exit 3');
  t.match((await audit()).find((f) => f.area === 'images' && f.subject === 'uploads'), { level: 'failure', message: 'discrepancies at the last check: 1 missing' });

  // A pulled repair with the same key (op=read of the entry point): no key of root's own on the replica, none by hand.
  t.not((await lab.ssh(REPLICA.host, 'ls ~/.ssh/id_*')).code, 0, 'root has no key of its own on the replica');
  await lab.sshOk(SOURCE.host, `cd ${shq(SOURCE.path)} && ln -sfn /etc etc-link && ln -sf /etc/shadow shadow.jpg && mkfifo fifo.jpg`);
  const read = (path: string, words = 'op=read offset=1') => lab.ssh(REPLICA.host, `printf %s ${shq(path)} | ${as} root@${source} ${shq(words)}`);
  t.equal((await read('photos/short.jpg', 'op=read offset=5')).stdout, 'backup has a truncated copy of this', 'the key reads a file of the tree, from an offset');
  const reads: [string, number, string][] = [
    ['/etc/shadow', 65, 'an absolute path'],
    ['../../../etc/shadow', 65, "'..'"],
    ['etc-link/shadow', 65, 'a directory linked out of the tree'],
    ['shadow.jpg', 66, 'a file linked out of the tree'],
    ['fifo.jpg', 66, 'a FIFO'],
    ['photos', 66, 'a directory'],
  ];
  for (const [path, code, what] of reads) {
    const r = await read(path);
    t.equal(r.code, code, `op=read of ${what}: refused (${r.stderr.trim().split('\n').pop()})`);
    t.equal(r.stdout, '', `op=read of ${what}: nothing read`);
  }
  t.equal((await read('photos/short.jpg', 'op=read offset=1 root=/etc')).code, 64, 'op=read with another root: refused');
  await lab.sshOk(SOURCE.host, `cd ${shq(SOURCE.path)} && rm etc-link shadow.jpg fifo.jpg`);
  const repair = await runFamily(t, imagesFamily, ['images', '-i', inv, '--json', 'repair', 'uploads', '--yes']);
  t.equal(repair.code, 0, 'repaired');
  t.match(JSON.parse(repair.out), { copied: ['photos/gone.jpg'], failed: [], transfer: { mode: 'pull', reason: /^backup-far reaches app-prod with the pair's check key/ } }, "pulled by the replica's host with the pair's key");
  t.equal(await lab.sshOk(REPLICA.host, `cat ${shq(`${REPLICA.path}/photos/gone.jpg`)}`), 'deleted from the backup', "the source's bytes");
  t.equal((await lab.ssh(REPLICA.host, asCron)).code, 0, 'the next check: nothing missing');

  const removed = await ironclad(['--yes', ...limit, '-i', LAB_INVENTORY, 'apply']);
  t.equal(removed.code, 0, removed.stderr.slice(-500));
  t.equal(await lab.sshOk(REPLICA.host, 'ls /etc/cron.d/ironclad-images-check-* /usr/local/sbin/ironclad-images-check-* /var/lib/ironclad/images/keys/* 2>/dev/null || true'), '', 'job, schedule and key removed once the inventory no longer asks');
  t.equal(await lab.sshOk(SOURCE.host, `ls ${ENTRY} 2>/dev/null; grep -c ' ironclad-images-check-' ~/.ssh/authorized_keys || true`), '0\n', "the source's entry point and line removed");
  t.equal(await lab.sshOk(SOURCE.host, 'grep -c " ironclad-lab$" ~/.ssh/authorized_keys'), '1\n', "the source's other keys kept");
});
