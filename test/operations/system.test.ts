import t from 'tap';
import { checksumsAdvice, clusterSteps } from '../../src/operations/system.js';
import type { PostgresSpec } from '../../src/inventory/types.js';

const pg: PostgresSpec = { version: 15, cluster: 'main', port: 5432 };
const dd = { exists: false, entries: 0, pgVersion: null, systemIdentifier: null, path: '/var/lib/postgresql/15/main' };

t.test('a new cluster is made with data checksums', async (t) => {
  const [step] = clusterSteps({ clusters: [], pg, dataDirectory: dd });
  t.equal(step.kind, 'change');
  if (step.kind !== 'change') return;
  const cmd = step.change.commands[0];
  t.ok(cmd.kind === 'sh' && /pg_createcluster .* -- --data-checksums --no-sync/.test(cmd.script), 'initdb gets --data-checksums');
  t.match(step.change.description, /with data checksums/);
});

t.test('checksums advice: only for an existing cluster whose control file says off', async (t) => {
  const c = (checksums: 'on' | 'off' | null, data_bytes: number | null = 4 * 1024 ** 3) => [{ version: 15, cluster: 'main', online: true, checksums, data_bytes }];
  t.equal(checksumsAdvice({ host: 'db', pg, clusters: c('on') }), undefined);
  t.equal(checksumsAdvice({ host: 'db', pg, clusters: c(null) }), undefined, 'unknown: the audit says so, the plan does not guess');
  t.equal(checksumsAdvice({ host: 'db', pg, clusters: [] }), undefined, 'no cluster yet');
  t.equal(checksumsAdvice({ host: 'db', pg, clusters: [{ ...c('off')[0], cluster: 'other' }] }), undefined, "another cluster is not the inventory's");
  const a = checksumsAdvice({ host: 'db', pg, clusters: c('off') })!;
  t.equal(a.operation, 'checksums');
  t.same(a.commands, [], 'apply never runs it');
  t.match(a.description, /data checksums are OFF on 15\/main/);
  t.match(a.description, /about 1 min 32 s of downtime for 4\.0 GiB at 100\.0 MiB\/s \(assumed/);
  t.match(a.description, /ironclad runbook run runbooks\/enable-checksums\.yaml --set host=db/);
  t.match(checksumsAdvice({ host: 'db', pg, clusters: c('off', null) })!.description, /downtime unknown/);
});
