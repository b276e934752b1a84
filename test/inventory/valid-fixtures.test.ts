// Inventories that must validate: the shared reference (unchanged), its copy, the lab inventory and the valid fixtures.
import t from 'tap';
import { existsSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { validateInventory } from '../../src/inventory/load.js';
import { hasStackTrace, repoRoot, runCli, validDir, yamlFiles } from '../fixtures/inventory/harness.js';

const reference = join(repoRoot, '..', 'shared', 'reference', 'inventory.yaml');
const lab = join(repoRoot, 'inventory', 'lab.yaml');

t.test('the shared reference inventory validates unchanged', { skip: existsSync(reference) ? false : `${reference} is absent (the reference lives in ../shared/reference beside the repository)` }, async (t) => {
  const { inventory, problems } = validateInventory(reference);
  t.same(problems, [], 'no problems');
  t.same(inventory?.hosts.map((h) => h.name), ['db-prod', 'app-prod', 'backup-far', 'staging']);
  const { code, stdout, stderr } = await runCli(['-i', reference, 'validate']);
  t.equal(code, 0, 'ironclad validate exits 0');
  t.match(stdout, 'valid (4 hosts)');
  t.equal(stderr, '');
});

t.test('the copy of the reference in the fixtures is the reference', { skip: existsSync(reference) ? false : 'reference absent' }, async (t) => {
  const { readFileSync } = await import('node:fs');
  t.equal(readFileSync(join(validDir, 'reference.yaml'), 'utf8'), readFileSync(reference, 'utf8'), 'inventory copied unchanged');
  t.equal(readFileSync(join(validDir, 'scrub', 'app.yaml'), 'utf8'), readFileSync(join(reference, '..', 'scrub', 'app.yaml'), 'utf8'), 'scrub file copied unchanged');
});

t.test('inventory/lab.yaml validates', async (t) => {
  const { problems } = validateInventory(lab);
  t.same(problems, []);
  const { code, stderr } = await runCli(['-i', 'inventory/lab.yaml', 'validate']);
  t.equal(code, 0);
  t.notOk(hasStackTrace(stderr));
});

t.test('every valid fixture validates, through the library and the CLI', async (t) => {
  const files = yamlFiles(validDir);
  t.ok(files.length >= 3);
  for (const f of files) {
    const { inventory, problems } = validateInventory(f);
    t.same(problems, [], `${basename(f)}: no problems`);
    t.ok(inventory, `${basename(f)}: an inventory`);
    const { code, stdout } = await runCli(['-i', relative(repoRoot, f), '--json', 'validate']);
    t.equal(code, 0, `${basename(f)}: exit 0`);
    t.match(JSON.parse(stdout), { ok: true, problems: [] });
  }
});

t.test('$IRONCLAD_INVENTORY names the inventory when -i is absent', async (t) => {
  const { code, stdout } = await runCli(['validate'], { IRONCLAD_INVENTORY: join(validDir, 'minimal.yaml') });
  t.equal(code, 0);
  t.match(stdout, 'minimal.yaml: valid');
});
