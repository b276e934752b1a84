// `ironclad images repair` as the CLI runs it: no TTY and no --yes is a refusal (exit 3), --json, --dry-run, a pair.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createImagesFamily } from '../../scripts/images.js';
import { localConnector } from '../../src/connectors/local.js';
import { SafetyRefusal, UserError } from '../../src/core/errors.js';
import type { Host } from '../../src/inventory/types.js';
import { pairInventory, runFamily } from './fixtures/cli.js';
import { REPAIR_CASE, repairReplica, repairSource } from './fixtures/repair-trees.js';

const noHosts = createImagesFamily(async () => t.fail('no host is connected') as never);

function trees(dir: string): string[] {
  repairSource(join(dir, 'src'));
  repairReplica(join(dir, 'src'), join(dir, 'dst'));
  return [join(dir, 'src'), join(dir, 'dst'), '--cache-dir', join(dir, 'c')];
}

t.test('without --yes and without a terminal: the plan on stderr, then a refusal (exit 3), nothing written', async (t) => {
  const dir = t.testdir();
  const args = trees(dir);
  const err = t.capture(process.stderr, 'write', () => true);
  await t.rejects(runFamily(t, noHosts, ['images', 'repair', ...args]), { constructor: SafetyRefusal, exitCode: 3, message: /not confirmed: nothing was changed/ });
  const said = err.calls.map((c) => String(c.args[0])).join('');
  err.restore();
  t.match(said, /would copy 3 missing file\(s\) and replace 4 different one\(s\)/);
  t.match(said, /refusing without --yes/);
  t.notOk(existsSync(join(dir, 'dst', 'gone1.jpg')));
});

t.test('--dry-run prints the plan; --yes --json repairs and prints the document of DESIGN.md', async (t) => {
  const dir = t.testdir();
  const args = trees(dir);
  const dry = await runFamily(t, noHosts, ['images', 'repair', ...args, '--dry-run']);
  t.equal(dry.code, 0);
  t.match(dry.out, /would copy 3 missing file\(s\) and replace 4/);
  t.match(dry.out, /extra on the replica: 2 file\(s\), kept/);
  const err = t.capture(process.stderr, 'write', () => true);
  const { code, out } = await runFamily(t, noHosts, ['images', 'repair', ...args, '--yes', '--json']);
  err.restore();
  t.equal(code, 0, out);
  const doc = JSON.parse(out);
  t.match(doc, { copied: REPAIR_CASE.missing, replaced: REPAIR_CASE.replaced, quarantine: String, source_rot: [], extra: REPAIR_CASE.extra, failed: [], transfer: { mode: 'local' } });
  const human = await runFamily(t, noHosts, ['images', 'repair', ...args, '--yes']);
  t.match(human.out, /nothing to copy or replace/);
  t.match(human.out, /extra on the replica: 2 file\(s\), kept/);
});

t.test('a pair of the inventory, two hosts: streamed through this machine when asked (--via controller)', async (t) => {
  const dir = t.testdir();
  trees(dir);
  writeFileSync(join(dir, 'inv.yaml'), pairInventory(dir));
  const family = createImagesFamily(async (h: Host) => localConnector(h.name));
  const { code, out } = await runFamily(t, family, ['images', '-i', join(dir, 'inv.yaml'), 'repair', 'uploads', '--via', 'controller', '--yes', '--json', '--cache-dir', join(dir, 'c')]);
  t.equal(code, 0);
  const doc = JSON.parse(out);
  t.match(doc, { name: 'uploads', copied: REPAIR_CASE.missing, transfer: { mode: 'controller', reason: /asked for/ } });
  t.match(doc.quarantine, /^backup-far:.*\/dst\/\.ironclad-quarantine\//);
  t.same(readFileSync(join(dir, 'dst', 'gone1.jpg'), 'utf8'), 'first missing file');
  await t.rejects(runFamily(t, family, ['images', '-i', join(dir, 'inv.yaml'), 'repair', 'uploads', '--via', 'sideways']), { constructor: UserError, message: /--via must be/ });
});
