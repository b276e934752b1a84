// images compare between two lab hosts for real: each tree is scanned on its own host over SSH (host keys checked),
// only manifests come back; every kind of discrepancy is found, the flipped bit included. Needs root (the lab).
import t, { type Test } from 'tap';
import { imagesFamily } from '../../scripts/images.js';
import { shq } from '../../src/core/quote.js';
import { runFamily } from '../images/fixtures/cli.js';
import { labUnavailable, withLab, type LabHandle } from './helpers/lab.js';

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
