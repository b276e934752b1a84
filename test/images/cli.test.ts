// `ironclad images compare` as the CLI runs it: words and flags, inventory pairs and HOST:PATH, output and exit codes.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createImagesFamily } from '../../scripts/images.js';
import { localConnector } from '../../src/connectors/local.js';
import { UserError } from '../../src/core/errors.js';
import type { Host } from '../../src/inventory/types.js';
import { pairInventory, runFamily } from './fixtures/cli.js';
import { AWKWARD, replicaWithDiscrepancies, sourceTree } from './fixtures/trees.js';

const inventory = (dir: string) => pairInventory(dir);

/** Run `ironclad images ARGS`, hosts reached through this machine (as if over SSH). */
async function run(t: Test, dir: string, args: string[]): Promise<{ code: number; out: string; hosts: string[] }> {
  writeFileSync(join(dir, 'inventory.yaml'), inventory(dir));
  const hosts: string[] = [];
  const family = createImagesFamily(async (h: Host) => (hosts.push(h.name), localConnector(h.name)));
  const result = await runFamily(t, family, ['images', '-i', join(dir, 'inventory.yaml'), ...args, '--cache-dir', join(dir, 'cache')]);
  return { ...result, hosts };
}

function trees(dir: string): void {
  sourceTree(join(dir, 'src'));
  replicaWithDiscrepancies(join(dir, 'src'), join(dir, 'dst'));
}

t.test('compare NAME --json: the document of DESIGN.md, exit 3, both hosts of the pair', async (t) => {
  const dir = t.testdir();
  trees(dir);
  const { code, out, hosts } = await run(t, dir, ['compare', 'uploads', '--json']);
  t.equal(code, 3);
  t.same(hosts.sort(), ['app-prod', 'backup-far']);
  const doc = JSON.parse(out);
  t.match(doc, {
    name: 'uploads',
    source: { files: AWKWARD.length + 6, bytes: Number },
    replica: { files: AWKWARD.length + 6, bytes: Number },
    missing: ['photos/gone.jpg'],
    extra: ['photos/extra.jpg'],
    size_mismatch: ['photos/short.jpg'],
    content_mismatch: ['photos/rot.jpg', 'photos/stale.jpg'],
    equal: AWKWARD.length + 2,
  });
  t.ok(doc.source.location.startsWith('app-prod:'));
});

t.test('compare SRC DST: two local paths need no inventory; human summary; --report', async (t) => {
  const dir = t.testdir();
  trees(dir);
  const report = join(dir, 'rows.jsonl');
  const family = createImagesFamily(async () => t.fail('no host is connected') as never);
  const { code, out } = await runFamily(t, family, ['images', '-i', join(dir, 'absent.yaml'), 'compare', join(dir, 'src'), join(dir, 'dst'), '--report', report, '--cache-dir', join(dir, 'c')]);
  t.equal(code, 3);
  t.match(out, /missing on replica\s+1/);
  t.match(out, /content mismatch: photos\/rot\.jpg/);
  t.match(out, /every row in .*rows\.jsonl/);
  const lines = readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, AWKWARD.length + 7);
  t.ok(lines.some((l) => l.status === 'equal' && l.path === 'ünïcödé/名前.jpg'));
});

t.test('equal trees exit 0; --rehash and --sample are passed through', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  const first = await run(t, dir, ['compare', join(dir, 'src'), 'backup-far:' + join(dir, 'dst'), '--json']);
  t.equal(first.code, 0, first.out);
  t.same(first.hosts, ['backup-far']);
  const rehash = JSON.parse((await run(t, dir, ['compare', 'uploads', '--json', '--rehash'])).out);
  t.equal(rehash.source.hashed, rehash.source.files);
  const sample = await run(t, dir, ['compare', 'uploads', '--sample', '50', '--seed', '7']);
  t.equal(sample.code, 0);
  t.match(sample.out, /sample of 50% rehashed \(seed 7/);
});

t.test('bad input is exit 2 (UserError): usage, unknown pair or host, missing path', async (t) => {
  const dir = t.testdir();
  trees(dir);
  const cases: [string[], RegExp][] = [
    [['list'], /usage: ironclad images compare/],
    [['compare'], /usage/],
    [['compare', 'a', 'b', 'c'], /usage/],
    [['compare', 'nope'], /no images pair 'nope'/],
    [['compare', 'nowhere:/x', join(dir, 'dst')], /unknown host 'nowhere'/],
    [['compare', join(dir, 'src'), join(dir, 'missing')], /replica .*missing: no such directory/],
    [['compare', 'app-prod:/no/such/dir', join(dir, 'dst')], /source app-prod:\/no\/such\/dir: no such directory/],
    [['compare', 'uploads', '--hash', 'md5'], /--hash must be/],
    [['compare', 'uploads', '--sample', '0'], /--sample must be/],
  ];
  for (const [args, message] of cases) await t.rejects(run(t, dir, args), { constructor: UserError, message }, args.join(' '));
});
