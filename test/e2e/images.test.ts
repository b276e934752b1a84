// images compare between two lab hosts for real: each tree is scanned on its own host over SSH (host keys checked),
// only manifests come back; every kind of discrepancy is found, the flipped bit included. Then the routine check:
// apply installs its job and cron file on the replica's host, the job run by hand as cron runs it (no Node.js there)
// writes what `images compare` and `audit` read, and apply removes it once the inventory no longer asks. Needs root.
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

const imageChanges = (plan: { hosts: { host: string; changes: { operation: string; description: string }[] }[] }) =>
  plan.hosts.find((h) => h.host === REPLICA.host)?.changes.filter((c) => c.operation === 'images').map((c) => c.description) ?? [];

t.test('the routine check as a job on the replica host, installed by apply', { skip: unavailable }, async (t) => {
  const lab = await withLab(t);
  const inv = checkedInventory(t);
  const limit = ['--limit', REPLICA.host];
  await lab.sshOk(SOURCE.host, buildTree(SOURCE.path, 'source'));
  await lab.sshOk(REPLICA.host, buildTree(REPLICA.path, 'source'));
  await lab.sshOk(REPLICA.host, 'rm -f /var/lib/ironclad/images/uploads.*');

  const plan = JSON.parse((await ironclad(['-i', inv, '--json', ...limit, 'plan'])).stdout);
  t.match(imageChanges(plan), [/^install the routine image check of uploads \(\/usr\/local\/sbin\/ironclad-images-check-uploads\)$/, /^install its schedule \*-\*-\* 04:10:00 \(cron\)/], 'plan shows it');
  const applied = await ironclad(['-i', inv, '--yes', ...limit, 'apply']);
  t.match(await lab.sshOk(REPLICA.host, 'cat /etc/cron.d/ironclad-images-check-uploads'), /^10 4 \* \* \* root \/usr\/local\/sbin\/ironclad-images-check-uploads >\/var\/lib\/ironclad\/images\/uploads\.check\.log 2>&1$/m, `installed (apply exit ${applied.code}: ${applied.stderr.slice(-300)})`);
  t.same(imageChanges(JSON.parse((await ironclad(['-i', inv, '--json', ...limit, 'plan'])).stdout)), [], 'a second plan: nothing to change for it');

  // The job reaches the source as images repair pulls: with backup-far's own key, app-prod's host key known.
  const pub = await lab.sshOk(REPLICA.host, "rm -f ~/.ssh/id_ed25519*; ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && cat ~/.ssh/id_ed25519.pub");
  await lab.sshOk(SOURCE.host, 'cat >> ~/.ssh/authorized_keys', { stdin: pub });
  await lab.sshOk(REPLICA.host, 'cat >> ~/.ssh/known_hosts', { stdin: `${lab.host(SOURCE.host).address} ${await lab.sshOk(SOURCE.host, 'cat /etc/ssh/ssh_host_ed25519_key.pub')}` });
  t.teardown(async () => {
    await lab.sshOk(SOURCE.host, `grep -vxF -- ${shq(pub.trim())} ~/.ssh/authorized_keys >/tmp/ak; cat /tmp/ak >~/.ssh/authorized_keys; rm /tmp/ak`);
    await lab.sshOk(REPLICA.host, 'rm -f ~/.ssh/id_ed25519* ~/.ssh/known_hosts');
  });
  // as cron runs it, with a `node` first on its PATH that fails: lab hosts see this machine's Node.js, the job must not
  await lab.sshOk(REPLICA.host, "mkdir -p /tmp/no-node && printf '#!/bin/sh\\necho node was called >&2; exit 99\\n' >/tmp/no-node/node && chmod 755 /tmp/no-node/node");
  const asCron = 'cd / && env -i PATH=/tmp/no-node:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root SHELL=/bin/sh /usr/local/sbin/ironclad-images-check-uploads';
  t.equal((await lab.ssh(REPLICA.host, 'PATH=/tmp/no-node:$PATH node -e 1')).code, 99, 'the failing node is the one found');
  const run = await lab.ssh(REPLICA.host, asCron);
  t.equal(run.code, 0, run.stderr);
  t.notMatch(run.stderr, /node was called/);
  t.match(run.stdout, /^images check uploads \(app-prod:\/srv\/app\/uploads -> \/srv\/ironclad\/images\/uploads, (blake3|sha256)\): 67 equal, 0 discrepancies/);
  const audit = async () => (JSON.parse((await ironclad(['-i', inv, '--json', ...limit, 'audit'])).stdout).hosts as { findings: Finding[] }[]).flatMap((h) => h.findings);
  const first = await audit();
  t.match(first.find((f) => f.area === 'images' && f.subject === 'uploads'), { level: 'ok', message: '100% verified within 1 days, oldest 0 days ago' }, "the audit reads the job's record");
  t.notOk(first.find((f) => f.area === 'unknown' && f.subject === '/etc/cron.d/ironclad-images-check-uploads'), 'its cron file is no unknown to the audit');
  const compared = await compare(t, { ...lab, inventoryFile: inv }, ['uploads']);
  t.match(compared.doc, { equal: 67, coverage: { verified_fraction: 1, days: 1 } }, "images compare carries the job's coverage");

  await lab.sshOk(REPLICA.host, `rm ${shq(`${REPLICA.path}/photos/gone.jpg`)}`);
  t.equal((await lab.ssh(REPLICA.host, asCron)).code, 3, 'a file missing on the replica: exit 3');
  t.match((await audit()).find((f) => f.area === 'images' && f.subject === 'uploads'), { level: 'failure', message: 'discrepancies at the last check: 1 missing' });

  await ironclad(['--yes', ...limit, '-i', LAB_INVENTORY, 'apply']);
  t.equal(await lab.sshOk(REPLICA.host, 'ls /etc/cron.d/ironclad-images-check-* /usr/local/sbin/ironclad-images-check-* 2>/dev/null || true'), '', 'removed once the inventory no longer asks');
});
