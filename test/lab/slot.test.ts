// Unit tests of lab slots: every lab inventory of the repository, rewritten for slot 2 and 3, still loads and makes a
// lab that shares no bridge, subnet, state dir, namespace, link or cgroup with slot 1 (or with any other lab).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import { planLab, type LabPlan } from '../../src/lab/plan.js';
import { parseSlot, slotInventoryText, slotLab } from '../../src/lab/slot.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const LABS = ['inventory/lab.yaml', 'inventory/lab-systemd.yaml', 'test/e2e/pitr-lab.yaml', 'test/fixtures/corruption-backup/lab.yaml', 'test/fixtures/instances/lab.yaml'];

t.test('a slot number comes from the environment: 1 by default, 1..9 only', async (t) => {
  t.equal(parseSlot(undefined), 1);
  t.equal(parseSlot(''), 1);
  t.equal(parseSlot('2'), 2);
  for (const bad of ['0', '10', 'two', '-1', '1.5', ' 2']) t.throws(() => parseSlot(bad), /is not a number from 1 to 9/, bad);
});

t.test('slot N moves the bridge, the subnet and the state dir; slot 1 is the lab itself', async (t) => {
  const lab = { bridge: 'icl0', subnet: '10.213.7.0/24', state_dir: '/var/lib/ironclad-lab' };
  t.equal(slotLab(lab, 1), lab);
  t.same(slotLab(lab, 2), { bridge: 'icl0s2', subnet: '10.214.7.0/24', state_dir: '/var/lib/ironclad-lab-s2' });
  t.same(slotLab({ ...lab, state_dir: '/var/lib/x/' }, 3), { bridge: 'icl0s3', subnet: '10.215.7.0/24', state_dir: '/var/lib/x-s3' });
  t.throws(() => slotLab({ ...lab, subnet: '10.255.7.0/24' }, 2), /has no slot 2/, 'the octet would overflow');
});

t.test('the rewrite touches the lab and nothing else, and refuses shapes it does not know', async (t) => {
  const text = [
    'lab: { bridge: iclcr, subnet: 10.213.18.0/24, state_dir: /var/lib/ironclad-lab-cr }',
    'a: 10.213.18.10',
    'b: [127.0.0.1, 10.213.18.10, 110.213.18.10, 10.213.180.1]',
    'c: { file: /var/lib/ironclad-lab-cr/secrets/app.pw }',
    'd: /var/lib/ironclad-lab-crx/kept',
    'e: /var/lib/ironclad-lab',
    'f: iclcr-not-a-bridge-key',
    '',
  ].join('\n');
  t.equal(slotInventoryText(text, 1), text, 'slot 1: byte for byte');
  t.equal(
    slotInventoryText(text, 2),
    [
      'lab: { bridge: iclcrs2, subnet: 10.214.18.0/24, state_dir: /var/lib/ironclad-lab-cr-s2 }',
      'a: 10.214.18.10',
      'b: [127.0.0.1, 10.214.18.10, 110.213.18.10, 10.213.180.1]',
      'c: { file: /var/lib/ironclad-lab-cr-s2/secrets/app.pw }',
      'd: /var/lib/ironclad-lab-crx/kept',
      'e: /var/lib/ironclad-lab',
      'f: iclcr-not-a-bridge-key',
      '',
    ].join('\n'),
  );
  t.throws(() => slotInventoryText('hosts: {}\n', 2), /needs an inventory with lab.bridge/);
  t.throws(() => slotInventoryText('lab: { bridge: icl0, subnet: 10.213.0.0/16, state_dir: /var/lib/x }\n', 2), /a slot needs a \/24/);
  t.throws(() => slotInventoryText('lab: { bridge: "icl0", subnet: 10.213.7.0/24, state_dir: /var/lib/x }\n', 2), /the rewritten lab section is/, 'a quoted bridge is not rewritten: refused, not half done');
});

/** The plan of a repository lab inventory in a slot: the rewritten copy in a temporary folder beside a copy of the original's folder. */
function slotPlan(t: Test, file: string, slot: number): { plan: LabPlan; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'icl-slot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(dirname(repo(file)), dir, { recursive: true });
  const text = slotInventoryText(readFileSync(repo(file), 'utf8'), slot);
  const copy = join(dir, `.slot${slot}.${basename(file)}`);
  writeFileSync(copy, text);
  return { plan: planLab(loadInventory(copy)), text };
}

t.test("every lab of the repository, in slots 1 to 3: each slot's labs share nothing with another slot's or another lab's", async (t) => {
  const plans: { name: string; plan: LabPlan }[] = [];
  for (const file of LABS)
    for (const slot of [1, 2, 3]) {
      const { plan, text } = slotPlan(t, file, slot);
      plans.push({ name: `${file} slot ${slot}`, plan });
      if (slot === 1) continue;
      const one = planLab(loadInventory(repo(file)));
      const stem = one.subnet.split('.').slice(0, 3).join('.') + '.';
      t.notMatch(text, new RegExp(`(^|[^\\d.])${stem.replace(/\./g, '\\.')}\\d`), `${file} slot ${slot}: no address of slot 1's subnet is left`);
      t.notMatch(text, new RegExp(`${one.stateDir}(?![\\w.-])`), `${file} slot ${slot}: no path under slot 1's state dir is left`);
      for (const h of plan.hosts) {
        t.ok(h.address.startsWith(plan.subnet.split('.').slice(0, 3).join('.') + '.'), `${h.name}: its address ${h.address} is in ${plan.subnet}`);
        for (const p of [h.identityFile, h.knownHosts, h.dir]) t.ok(p.startsWith(`${plan.stateDir}/`), `${h.name}: ${p} is under ${plan.stateDir}`);
        t.ok(h.link.length <= 15, `${h.link} fits IFNAMSIZ`);
      }
      for (const f of plan.secretFiles) t.ok(f.startsWith(`${plan.stateDir}/`), `secret ${f} is under ${plan.stateDir}`);
      t.same(
        plan.hosts.map((h) => h.name),
        one.hosts.map((h) => h.name),
        'the same hosts by name',
      );
    }
  for (const key of ['bridge', 'subnet', 'stateDir'] as const) {
    const all = plans.map((p) => p.plan[key]);
    t.equal(new Set(all).size, all.length, `every lab has a ${key} of its own`);
  }
  for (const key of ['netns', 'link', 'cgroup'] as const) {
    const all = plans.flatMap((p) => p.plan.hosts.map((h) => h[key]));
    t.equal(new Set(all).size, all.length, `no two hosts of the ${plans.length} labs share a ${key}`);
  }
  const main = plans.find((p) => p.name === 'inventory/lab.yaml slot 1')!.plan;
  t.same(
    main.hosts.map((h) => h.netns),
    ['icl-db-prod', 'icl-app-prod', 'icl-backup-far', 'icl-staging'],
    "slot 1 of the repository's lab keeps its names (scripts/demo.sh)",
  );
  t.equal(main.stateDir, '/var/lib/ironclad-lab');
});
