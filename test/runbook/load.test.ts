import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ACTIONS } from '../../src/runbook/actions.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { tempDir } from '../fixtures/tmp.js';

const load = (text: string) => {
  const file = join(tempDir('ironclad-rb-'), 'rb.yaml');
  writeFileSync(file, text);
  return () => loadRunbook(file, ACTIONS);
};

t.test("the shipped runbooks load: each step's inputs come from earlier steps", async (t) => {
  for (const book of ['staging-refresh', 'staging-swap-back', 'restore-production', 'restore-production-swap-back', 'restore-production-pitr', 'provision-server'])
    t.doesNotThrow(() => loadRunbook(new URL(`../../runbooks/${book}.yaml`, import.meta.url).pathname, ACTIONS), book);
});

t.test('a step reading a later or unknown step, and on_failure naming unknown steps, are refused with their place', async (t) => {
  const bad = load(`version: 1
name: rb
description: x
steps:
  - name: swap
    action: refresh.swap
    with: { proof: "{{steps.scan.proof}}" }
  - name: scan
    action: refresh.pii_scan
    with: { x: "{{steps.nowhere.x}}" }
on_failure:
  - name: discard
    action: refresh.discard
    when: [scna]
    undoes: [scan]
    with: { dir: "{{steps.scan.dir}}" }
`);
  let messages: string[] = [];
  try {
    bad();
  } catch (e) {
    messages = ((e as { problems?: { message: string }[] }).problems ?? []).map((p) => p.message);
  }
  t.ok(messages.includes("reads {{steps.scan...}}, but step 'scan' runs after this one"), 'a later step');
  t.ok(messages.includes("reads {{steps.nowhere...}}, but there is no step 'nowhere'"), 'an unknown step');
  t.ok(messages.includes("no step 'scna' (steps: swap, scan)"), 'on_failure: an unknown step');
});
