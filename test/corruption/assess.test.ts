import t from 'tap';
import { optionsText } from '../../src/corruption/actions.js';
import { assessDamage, damageText } from '../../src/corruption/assess.js';
import { downtimeSeconds, parseDdRate } from '../../src/operations/estimate.js';
import type { IntegrityFact } from '../../src/facts/integrity.js';

const integrity: IntegrityFact = { clusters: [], files: { job: null, cron: null, service: null, timer: null }, last: { started: '2026-12-02T11:00:00Z', finished: null, exit: 2, state: 'corrupt', seconds: 3 }, findings: [{ kind: 'index', relation: 'app.public.orders_pkey', block: 1, message: 'x' }], cleared: null };
const clusters = [{
  version: 15,
  cluster: 'main',
  counters: [{ database: 'app', failures: 2, last: '2026-12-02T10:05:00Z' }],
  log: [
    { time: '2026-12-02T10:00:01Z', kind: 'checksum' as const, block: null, path: null },
    { time: '2026-12-02T10:00:01Z', kind: 'invalid_page' as const, block: 1, path: 'base/16384/16385' },
    { time: '2026-12-02T10:05:00Z', kind: 'invalid_page' as const, block: 1, path: 'base/16384/16385' },
  ],
  relations: [{ dboid: 16384, filenode: 16385, database: 'app', schema: 'public', relation: 'orders', kind: 'r' }],
}];

t.test('what is damaged and since when', async (t) => {
  const { damage, since } = assessDamage(integrity, clusters);
  t.equal(since, '2026-12-02T10:00:01Z', 'the earliest evidence');
  t.same(damage.map(damageText), [
    'pages in database "app" (counter, 2026-12-02T10:05:00Z)',
    'table "public"."orders" in database "app", block 1 (log, 2026-12-02T10:00:01Z)',
    'index "app.public.orders_pkey" in database "app", block 1 (amcheck, 2026-12-02T11:00:00Z)',
  ], 'the same block seen twice in the log is one damage');
  t.same(assessDamage({ ...integrity, cleared: '2026-12-02T12:00:00Z' }, clusters).damage, [], 'nothing after the recorded repair');
});

t.test('the options name the exact commands', async (t) => {
  const { damage, since } = assessDamage(integrity, clusters);
  const text = optionsText({ host: 'db-prod', damage, since, backup: '20261201T021600Z-db-prod-app' }).join('\n');
  t.match(text, /REINDEX INDEX CONCURRENTLY/);
  t.match(text, /restore one table from backup 20261201T021600Z-db-prod-app beside the live one/);
  t.match(text, /runbooks\/corruption.yaml --set host=db-prod --set table=<schema>.<table>/);
  t.match(text, /ironclad pitr restore --host db-prod --time 2026-12-02T10:00:01Z --to <a spare host>/);
  t.match(optionsText({ host: 'db-prod', damage, since, backup: null }).join('\n'), /no backup from before the damage/);
});

t.test('downtime estimate', async (t) => {
  t.equal(parseDdRate('268435456 bytes (268 MB, 256 MiB) copied, 1.25 s, 215 MB/s'), 214748365);
  t.equal(parseDdRate('dd: failed to open'), null);
  t.equal(downtimeSeconds(1e9, 1e8), 30, 'read and write each byte, plus a restart');
});
