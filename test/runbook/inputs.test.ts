import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SafetyRefusal } from '../../src/core/errors.js';
import type { Refresh } from '../../src/refresh/db.js';
import { swapRefresh } from '../../src/refresh/swap.js';
import { scanProof, rulesOf } from '../../src/refresh/transform.js';
import { ACTIONS } from '../../src/runbook/actions.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { tempDir } from '../fixtures/tmp.js';

const STEPS = `
  - { name: guard, action: refresh.guard, with: { refresh: staging } }
  - { name: restore, action: refresh.restore, with: { refresh: staging, dir: /x } }
  - { name: scrub, action: refresh.scrub, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.restore.scrubbed}}" } }
  - { name: scan, action: refresh.pii_scan, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.scrub.scrubbed}}", scanned: "{{steps.restore.scanned}}" } }`;

/** The problems loading a runbook with these steps finds (FILE:... as the operator reads them). */
function problems(steps: string): string[] {
  const file = join(tempDir('ironclad-rb-'), 'gates.yaml');
  writeFileSync(file, `version: 1\nname: gates\ndescription: x\nsteps:${steps}\n`);
  try {
    loadRunbook(file, ACTIONS);
    return [];
  } catch (e) {
    return ((e as { problems?: { file: string; message: string }[] }).problems ?? []).map((p) => `${p.file.endsWith('gates.yaml') ? 'gates.yaml' : p.file}: ${p.message}`);
  }
}

const cases: { name: string; steps: string; problems: string[] }[] = [
  { name: 'the swap takes the scan step\'s proof', steps: `${STEPS}\n  - { name: swap, action: refresh.swap, with: { refresh: staging, proof: "{{steps.scan.proof}}" } }`, problems: [] },
  {
    name: 'a swap without the proof is refused when the runbook loads',
    steps: `${STEPS}\n  - { name: swap, action: refresh.swap, with: { refresh: staging } }`,
    problems: ["gates.yaml: step 'swap' (refresh.swap) has no input 'proof'; it must come from an earlier step: refresh.pii_scan's proof"],
  },
  {
    name: 'a proof typed in the file is no proof',
    steps: `${STEPS}\n  - { name: swap, action: refresh.swap, with: { refresh: staging, proof: "staging__incoming scrubbed and scanned by rules abc" } }`,
    problems: ["gates.yaml: step 'swap' (refresh.swap) takes 'proof' from \"staging__incoming scrubbed and scanned by rules abc\", not from an earlier step's output; it must come from an earlier step: refresh.pii_scan's proof"],
  },
  {
    name: "a proof from a step that proves nothing (the guard's host)",
    steps: `${STEPS}\n  - { name: swap, action: refresh.swap, with: { refresh: staging, proof: "{{steps.guard.host}}" } }`,
    problems: ["gates.yaml: step 'swap' (refresh.swap) takes 'proof' from step 'guard' (refresh.guard's host); it must come from an earlier step: refresh.pii_scan's proof"],
  },
  {
    name: 'the scan before the scrub: its scrubbed input comes from a later step',
    steps: `
  - { name: restore, action: refresh.restore, with: { refresh: staging, dir: /x } }
  - { name: scan, action: refresh.pii_scan, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.scrub.scrubbed}}", scanned: "{{steps.restore.scanned}}" } }
  - { name: scrub, action: refresh.scrub, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.restore.scrubbed}}" } }`,
    problems: ["gates.yaml: reads {{steps.scrub...}}, but step 'scrub' runs after this one"],
  },
  {
    name: "the scan told it was scanned by a step that did not scan (the scrub's own hash)",
    steps: `
  - { name: restore, action: refresh.restore, with: { refresh: staging, dir: /x } }
  - { name: scrub, action: refresh.scrub, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.restore.scrubbed}}" } }
  - { name: scan, action: refresh.pii_scan, with: { refresh: staging, database: "{{steps.restore.database}}", scrubbed: "{{steps.scrub.scrubbed}}", scanned: "{{steps.scrub.scrubbed}}" } }`,
    problems: ["gates.yaml: step 'scan' (refresh.pii_scan) takes 'scanned' from step 'scrub' (refresh.scrub's scrubbed); it must come from an earlier step: refresh.restore's scanned"],
  },
  {
    name: 'a scrub of a database named in the file, not the restored copy',
    steps: `
  - { name: scrub, action: refresh.scrub, with: { refresh: staging, database: staging, scrubbed: "" } }`,
    problems: [
      "gates.yaml: step 'scrub' (refresh.scrub) takes 'database' from \"staging\", not from an earlier step's output; it must come from an earlier step: refresh.restore's database",
      "gates.yaml: step 'scrub' (refresh.scrub) takes 'scrubbed' from \"\", not from an earlier step's output; it must come from an earlier step: refresh.restore's scrubbed",
    ],
  },
];

for (const c of cases) t.test(c.name, async (t) => t.same(problems(c.steps), c.problems));

t.test('the swap refuses without the proof of the rules as they are now, before asking any host', async (t) => {
  const rulesFile = new URL('../fixtures/scrub/app.yaml', import.meta.url).pathname;
  const r = { name: 'staging', spec: { scrub: rulesFile, to: { host: 'staging-db', database: 'app' } }, target: { name: 'staging-db', tags: [] } } as unknown as Refresh;
  const run = { runId: 'r', log: () => undefined, pool: { get: async () => t.fail('a host was asked') as never } };
  for (const proof of [undefined, '', 'app__incoming scrubbed and scanned by rules 0000', scanProof('app', rulesOf(rulesFile))])
    await t.rejects(swapRefresh(run, r, { proof }), SafetyRefusal, `proof ${JSON.stringify(proof)}`);
});
