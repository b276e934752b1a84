// images repair between two lab hosts for real (sshd, host keys checked): the replica lacks 3 files, has 2 extra,
// 2 resized and 2 rotten; then the source rots. The repair streams through this machine while the replica's host
// has no key of its own, and is pulled by the replica's host once it has one. Needs root (the lab).
import t, { type Test } from 'tap';
import { imagesFamily } from '../../scripts/images.js';
import { shq } from '../../src/core/quote.js';
import { runFamily } from '../images/fixtures/cli.js';
import { labUnavailable, withLab, type LabHandle } from './helpers/lab.js';

const SOURCE = { host: 'app-prod', path: '/srv/app/uploads' };
const REPLICA = { host: 'backup-far', path: '/srv/ironclad/images/uploads' };
const MISSING = ['deep/new/gone3.jpg', 'gone1.jpg', 'photos/gone2.jpg'];
const REPLACED = ['photos/long.jpg', 'photos/rot1.jpg', 'photos/rot2.jpg', 'photos/short.jpg'];
const EXTRA = ['extra1.jpg', 'photos/extra2.jpg'];

/** Flip one bit of a file in place with sh tools, its mtime put back (size, mtime and inode unchanged). */
const flip = (file: string, at: number) => `touch -r ${file} /tmp/ref
b=$(dd if=${file} bs=1 skip=${at} count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
printf "\\\\$(printf %03o $((b ^ 4)))" | dd of=${file} bs=1 seek=${at} conv=notrunc 2>/dev/null
touch -r /tmp/ref ${file} && rm /tmp/ref
`;

/** The source tree (sh alone, no Node.js on the hosts); for the replica, then each discrepancy. */
const buildTree = (root: string, role: 'source' | 'replica') => `set -eu
root=${shq(root)}
rm -rf "$root" && mkdir -p "$root/photos" "$root/deep/new" && cd "$root"
printf 'first missing file' >gone1.jpg
seq 1 3000 >photos/gone2.jpg
seq 1 90000 >deep/new/gone3.jpg
printf 'the replica has a truncated copy of this' >photos/short.jpg
printf 'short' >photos/long.jpg
seq 5 20000 >photos/rot1.jpg
seq 7 900 >photos/rot2.jpg
seq 9 4000 >photos/same.jpg
printf 'a space' >'with space.jpg'
find . -type f -exec touch -d '2024-01-02 03:04:05' {} +
chmod 640 gone1.jpg && chmod 4755 photos/gone2.jpg
if [ ${shq(role)} = replica ]; then
  rm -r gone1.jpg photos/gone2.jpg deep
  printf 'only on the replica' >extra1.jpg
  printf 'also' >photos/extra2.jpg
  printf 'the replica has a' >photos/short.jpg
  printf 'longer than the source' >photos/long.jpg
  ${flip('photos/rot1.jpg', 30000)}
  ${flip('photos/rot2.jpg', 10)}
fi
`;

async function images(t: Test, lab: LabHandle, args: string[]) {
  const { code, out } = await runFamily(t, imagesFamily, ['images', '-i', lab.inventoryFile, '--json', ...args]);
  return { code, doc: JSON.parse(out) };
}

const sums = (lab: LabHandle, host: string, root: string, paths: string[]) => lab.sshOk(host, `cd ${shq(root)} && sha256sum ${paths.map(shq).join(' ')}`);

const modes = (lab: LabHandle, host: string, root: string, paths: string[]) => lab.sshOk(host, `cd ${shq(root)} && stat -c %a ${paths.map(shq).join(' ')}`);

const unavailable = labUnavailable();
t.test('images repair between two lab hosts', { skip: unavailable }, async (t) => {
  const lab = await withLab(t);
  await lab.sshOk(SOURCE.host, buildTree(SOURCE.path, 'source'));
  await lab.sshOk(REPLICA.host, buildTree(REPLICA.path, 'replica'));
  await Promise.all([SOURCE.host, REPLICA.host].map((h) => lab.sshOk(h, 'rm -rf ~/.cache/ironclad/images ~/.ssh/id_ed25519* ~/.ssh/known_hosts')));
  const first = await images(t, lab, ['compare', 'uploads']);
  t.match(first.doc, { missing: MISSING, extra: EXTRA, size_mismatch: ['photos/long.jpg', 'photos/short.jpg'], content_mismatch: ['photos/rot1.jpg', 'photos/rot2.jpg'], source_rot: [] });
  await lab.sshOk(SOURCE.host, `cd ${shq(SOURCE.path)} && ${flip('photos/same.jpg', 500)}`);
  const old = await sums(lab, REPLICA.host, REPLICA.path, REPLACED);

  const r = await images(t, lab, ['repair', 'uploads', '--yes']);
  t.equal(r.code, 3, 'rot on the source left for a person: exit 3');
  t.match(r.doc, { copied: MISSING, replaced: REPLACED, extra: EXTRA, source_rot: ['photos/same.jpg'], source_rot_replica_healthy: ['photos/same.jpg'], failed: [] });
  t.match(r.doc.transfer, { mode: 'controller', reason: /backup-far has no SSH access of its own to app-prod/ }, 'no host-to-host key: through this machine, and why');
  t.equal(await sums(lab, REPLICA.host, REPLICA.path, [...MISSING, ...REPLACED]), await sums(lab, SOURCE.host, SOURCE.path, [...MISSING, ...REPLACED]), "the replica has the source's bytes");
  const q = r.doc.quarantine.replace(/^backup-far:/, '');
  t.equal(await sums(lab, REPLICA.host, q, REPLACED), old, 'the replaced files are in the quarantine, unchanged');
  t.equal(await lab.sshOk(REPLICA.host, `cd ${shq(REPLICA.path)} && ls ${EXTRA.map(shq).join(' ')}`), EXTRA.join('\n') + '\n', 'extras kept');
  t.equal(await modes(lab, REPLICA.host, REPLICA.path, ['gone1.jpg', 'photos/gone2.jpg']), '640\n755\n', "the source's modes, its setuid bit dropped");

  const next = await images(t, lab, ['compare', 'uploads']);
  t.match(next.doc, { missing: [], size_mismatch: [], content_mismatch: [], unreadable: [], extra: EXTRA, source_rot: ['photos/same.jpg'] }, 'next compare: the source rot only (and the kept extras)');

  // A host-to-host key: backup-far may now log in to app-prod, whose host key it knows (copied, not scanned).
  const pub = await lab.sshOk(REPLICA.host, "ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && cat ~/.ssh/id_ed25519.pub");
  await lab.sshOk(SOURCE.host, 'cat >> ~/.ssh/authorized_keys', { stdin: pub });
  const hostKey = await lab.sshOk(SOURCE.host, 'cat /etc/ssh/ssh_host_ed25519_key.pub');
  await lab.sshOk(REPLICA.host, 'cat >> ~/.ssh/known_hosts', { stdin: `${lab.host(SOURCE.host).address} ${hostKey}` });
  await lab.sshOk(REPLICA.host, `cd ${shq(REPLICA.path)} && rm gone1.jpg && printf x >>photos/short.jpg`);
  const pulled = await images(t, lab, ['repair', 'uploads', '--yes']);
  t.match(pulled.doc, { copied: ['gone1.jpg'], replaced: ['photos/short.jpg'], failed: [], transfer: { mode: 'pull', reason: /backup-far reaches app-prod with its own SSH key/ } });
  t.equal(await sums(lab, REPLICA.host, REPLICA.path, ['gone1.jpg', 'photos/short.jpg']), await sums(lab, SOURCE.host, SOURCE.path, ['gone1.jpg', 'photos/short.jpg']));
  t.equal(await modes(lab, REPLICA.host, REPLICA.path, ['gone1.jpg']), '640\n', "pulled: the source's mode");
  await lab.sshOk(SOURCE.host, `grep -vxF -- ${shq(pub.trim())} ~/.ssh/authorized_keys >/tmp/ak; cat /tmp/ak >~/.ssh/authorized_keys; rm /tmp/ak`);
  await lab.sshOk(REPLICA.host, 'rm -f ~/.ssh/id_ed25519* ~/.ssh/known_hosts');

  // The routine check: the first run rehashes everything (no coverage state yet), the next one a slice of 30.
  await lab.sshOk(REPLICA.host, 'rm -f /var/lib/ironclad/images/uploads.coverage.json');
  const check = await images(t, lab, ['check', 'uploads']);
  t.equal(check.code, 3, 'rot on the source: the check fails');
  t.match(check.doc, { slice: 'all', source_rot: ['photos/same.jpg'], coverage: { verified_fraction: 1, text: '100% verified within 30 days, oldest 0 days ago' } });
  t.match(check.doc.quarantine_removed, [], 'fresh quarantines are kept');
  t.match(JSON.parse(await lab.sshOk(REPLICA.host, 'cat /var/lib/ironclad/images/uploads.json')), { coverage: { verified_fraction: 1 }, counts: { source_rot: 1 } }, 'the record for audit has the coverage');
  const sliced = await images(t, lab, ['check', 'uploads']);
  t.match(sliced.doc, { slice: 0, slices: 30, coverage: { verified_fraction: 1 } });
  t.ok(sliced.doc.source.hashed < sliced.doc.source.files, 'a slice, not everything');
});
