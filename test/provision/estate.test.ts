// The estate's plan: each host's own plan stands when the backup wiring between hosts cannot be planned (a host it
// needs is down), and the wiring's changes join the hosts they belong to when it can.
import t from 'tap';
import type { HostOutcome } from '../../src/executor/fanout.js';
import type { ConnectionPool } from '../../src/executor/pool.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import type { HostPlan } from '../../src/provision/plan.js';

const hosts = [{ name: 'db-prod' }, { name: 'backup-far' }] as Host[];
const inv = { hosts } as Inventory;
const own = (): HostOutcome<HostPlan>[] => [
  { host: 'db-prod', ok: true, value: { host: 'db-prod', changes: [], deferred: [], refusals: [] } },
  { host: 'backup-far', ok: true, value: { host: 'backup-far', changes: [], deferred: [], refusals: [] } },
];
const noChecks = { planImageChecks: async () => [] }; // no image pair is checked here (test/images/check-job.test.ts)
const change = { operation: 'backup', description: 'install the backup job', commands: [] };

t.test('the wiring failing leaves each host its own plan, the failure reported beside them (masked)', async (t) => {
  const { planEstate } = await t.mockImport<typeof import('../../src/provision/estate.js')>('../../src/provision/estate.js', {
    '../../src/images/check-apply.js': noChecks,
    '../../src/backup/links.js': { planLinks: async () => { throw new Error('staging: cannot connect to root@10.213.7.20:22: EHOSTUNREACH'); } },
  });
  const r = await planEstate(inv, hosts, {} as ConnectionPool, own());
  t.same(r.hosts.map((h) => [h.host, h.ok]), [['db-prod', true], ['backup-far', true]]);
  t.match(r.wiringError, /^staging: cannot connect/);
});

t.test('the wiring planned: its changes join their hosts; a host that failed stays failed', async (t) => {
  const seen: string[][] = [];
  const { planEstate } = await t.mockImport<typeof import('../../src/provision/estate.js')>('../../src/provision/estate.js', {
    '../../src/images/check-apply.js': noChecks,
    '../../src/backup/links.js': { planLinks: async (_i: Inventory, selected: Host[]) => (seen.push(selected.map((h) => h.name)), [{ host: 'db-prod', changes: [change], waiting: [] }, { host: 'backup-far', changes: [change], waiting: [] }]) },
  });
  const plans = own();
  plans[1] = { host: 'backup-far', ok: false, error: new Error('backup-far: cannot connect') };
  const r = await planEstate(inv, hosts, {} as ConnectionPool, plans);
  t.same(seen, [['db-prod']], 'only hosts whose own plan was made are wired');
  t.equal(r.wiringError, null);
  t.same(r.hosts[0].ok && r.hosts[0].value.changes.map((c) => c.description), ['install the backup job']);
  t.equal(r.hosts[1].ok, false);
});

t.test('the image checks and the backup wiring fail alone: each one that worked joins its hosts, both failures named', async (t) => {
  const { planEstate } = await t.mockImport<typeof import('../../src/provision/estate.js')>('../../src/provision/estate.js', {
    '../../src/images/check-apply.js': { planImageChecks: async () => { throw new Error('backup-far: could not read the image check jobs'); } },
    '../../src/backup/links.js': { planLinks: async () => [{ host: 'db-prod', changes: [change], waiting: [] }] },
  });
  const r = await planEstate(inv, hosts, {} as ConnectionPool, own());
  t.same(r.hosts[0].ok && r.hosts[0].value.changes.map((c) => c.description), ['install the backup job'], 'the wiring planned all the same');
  t.match(r.wiringError, /^backup-far: could not read the image check jobs$/);
  const { planEstate: other } = await t.mockImport<typeof import('../../src/provision/estate.js')>('../../src/provision/estate.js', {
    '../../src/images/check-apply.js': { planImageChecks: async () => [{ host: 'backup-far', changes: [{ ...change, description: 'install the routine image check of uploads' }] }] },
    '../../src/backup/links.js': { planLinks: async () => { throw new Error('staging: unreachable'); } },
  });
  const s = await other(inv, hosts, {} as ConnectionPool, own());
  t.same(s.hosts[1].ok && s.hosts[1].value.changes.map((c) => c.description), ['install the routine image check of uploads']);
  t.match(s.wiringError, /^staging: unreachable$/);
});
