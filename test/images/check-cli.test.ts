// `ironclad images check NAME`: the inventory's check settings, the coverage kept on the replica's host, exit codes;
// and the inventory's images[].check validated with positions.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createImagesFamily } from '../../scripts/images.js';
import { localConnector } from '../../src/connectors/local.js';
import { UserError } from '../../src/core/errors.js';
import { coveragePath } from '../../src/images/check.js';
import { checkSpec } from '../../src/images/check-spec.js';
import { recordPath } from '../../src/images/record.js';
import { validateInventory } from '../../src/inventory/load.js';
import type { Host } from '../../src/inventory/types.js';
import { pairInventory, runFamily } from './fixtures/cli.js';
import { sourceTree } from './fixtures/trees.js';

const inventory = (dir: string, name: string, check: string) => pairInventory(dir, name, check);

t.test('images check NAME: a slice a run with the inventory settings, coverage in the output and the record', async (t) => {
  const dir = t.testdir();
  const name = `check-test-${randomBytes(4).toString('hex')}`;
  t.teardown(() => [coveragePath(name), recordPath(name)].forEach((f) => rmSync(f, { force: true })));
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  writeFileSync(join(dir, 'inv.yaml'), inventory(dir, name, '    check: { schedule: "*-*-* 03:30:00", days: 4, budget: 1G }\n'));
  const family = createImagesFamily(async (h: Host) => localConnector(h.name));
  const run = (extra: string[] = []) => runFamily(t, family, ['images', '-i', join(dir, 'inv.yaml'), 'check', name, '--cache-dir', join(dir, 'c'), ...extra]);
  const first = await run(['--json']);
  t.equal(first.code, 0, first.out);
  t.match(JSON.parse(first.out), { slice: 'all', slices: 4, coverage: { verified_fraction: 1, text: '100% verified within 4 days, oldest 0 days ago' } });
  const second = await run();
  t.equal(second.code, 0);
  t.match(second.out, /slice 1 of 4 rehashed, the rest from the cache/);
  t.match(second.out, /routine check: slice 1 of 4 rehashed .*; 100% verified within 4 days, oldest 0 days ago/);
  const rec = JSON.parse(execFileSync('cat', [recordPath(name)]).toString());
  t.match(rec, { name, ok: true, coverage: { verified_fraction: 1, days: 4 } }, 'the record for audit carries the coverage');
  const q = join(dir, 'dst', '.ironclad-quarantine');
  execFileSync('mkdir', ['-p', join(q, '20200101T000000Z-abcdef', 'photos'), join(q, '29990101T000000Z-abcdef')]);
  t.match(JSON.parse((await run(['--json'])).out), { quarantine_removed: ['20200101T000000Z-abcdef'] }, 'the check removes quarantines by age');
  t.same(execFileSync('ls', [q]).toString(), '29990101T000000Z-abcdef\n');
  const compared = await runFamily(t, family, ['images', '-i', join(dir, 'inv.yaml'), 'compare', name, '--json', '--cache-dir', join(dir, 'c')]);
  t.match(JSON.parse(compared.out), { coverage: { verified_fraction: 1, text: /^100% verified within 4 days/ } }, 'compare NAME reports the coverage');
  t.match(JSON.parse(execFileSync('cat', [recordPath(name)]).toString()), { coverage: { verified_fraction: 1 } }, 'and keeps it in the record');
  writeFileSync(join(dir, 'dst', 'extra.jpg'), 'x');
  writeFileSync(join(dir, 'inv.yaml'), inventory(dir, name, `    check: { schedule: "*-*-* 03:30:00", days: 4, alert: { command: 'cat >${join(dir, 'alert.txt')}; echo "$IRONCLAD_IMAGES_PAIR" >>${join(dir, 'alert.txt')}' } }\n`));
  t.equal((await run()).code, 3, 'a discrepancy: exit 3');
  const alerted = readFileSync(join(dir, 'alert.txt'), 'utf8');
  t.match(alerted, /extra on replica\s+1/, 'the alert command got the summary');
  t.match(alerted, new RegExp(`${name}\\n$`), 'and the pair in IRONCLAD_IMAGES_PAIR');
  await t.rejects(run(['--days', '0']), { constructor: UserError, message: /--days must be/ });
});

t.test('checkSpec: flags over the inventory over the defaults', async (t) => {
  t.same(checkSpec(undefined, {}), { days: 30, runsPerDay: 1, budgetBytes: undefined });
  t.same(checkSpec({ schedule: 'daily', days: 7, runs_per_day: 2, budget: '2G' }, {}), { days: 7, runsPerDay: 2, budgetBytes: 2 * 1024 ** 3 });
  t.same(checkSpec({ schedule: 'daily', days: 7 }, { days: '3', budget: '10M' }), { days: 3, runsPerDay: 1, budgetBytes: 10 * 1024 ** 2 });
  t.same(checkSpec({ schedule: '*-*-* 00/6:00:00' }, {}), { days: 30, runsPerDay: 4, budgetBytes: undefined }, 'runs a day from the schedule');
  t.throws(() => checkSpec(undefined, { budget: 'lots' }), /budget must be a size/);
});

t.test('the inventory: images[].check validates; a bad schedule or budget is named with its position', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'ok.yaml'), inventory(dir, 'uploads', '    check: { schedule: "*-*-* 03:30:00", days: 30, runs_per_day: 2, budget: 50G }\n'));
  t.same(validateInventory(join(dir, 'ok.yaml')).problems, []);
  t.match(validateInventory(join(dir, 'ok.yaml')).inventory?.images[0].check, { schedule: '*-*-* 03:30:00', days: 30, budget: '50G' });
  writeFileSync(join(dir, 'bad.yaml'), inventory(dir, 'uploads', '    check:\n      schedule: "every full moon"\n      budget: lots\n      days: 0\n'));
  const problems = validateInventory(join(dir, 'bad.yaml')).problems.map((p) => `${p.line}:${p.path}`);
  t.same(problems.sort(), ['12:images[0].check.schedule', '13:images[0].check.budget', '14:images[0].check.days'], 'every problem at once, each at its line');
  const twin = `  - name: v1_2\n    source: { host: app-prod, path: ${dir}/a }\n    replica: { host: backup-far, path: ${dir}/b }\n`;
  writeFileSync(join(dir, 'twin.yaml'), inventory(dir, 'v1.2', twin));
  t.match(validateInventory(join(dir, 'twin.yaml')).problems, [{ path: 'images[1].name', message: /'v1\.2' and 'v1_2' would share one check job/ }], 'two names one job name apart');
});
