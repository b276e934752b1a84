// What the audit asks for under --limit: only the selected hosts (their stores and image replicas only when they are
// selected too), one gather per host from which its plan is made.
import t, { type Test } from 'tap';
import type { ConnectionPool } from '../../src/executor/pool.js';
import type { Host } from '../../src/inventory/types.js';
import { loadInventory } from '../../src/inventory/load.js';

const inv = loadInventory(new URL('../../inventory/lab.yaml', import.meta.url).pathname);
const pick = (...names: string[]) => inv.hosts.filter((h) => names.includes(h.name));

async function collect(t: Test, selected: Host[]) {
  const asked: string[] = [];
  const read: string[] = [];
  const pool = { get: async (h: Host) => (asked.push(h.name), { host: h.name }) } as unknown as ConnectionPool;
  const { collectAudit } = await t.mockImport<typeof import('../../src/audit/collect.js')>('../../src/audit/collect.js', {
    '../../src/provision/run.js': {
      gatherForPlan: async (_c: unknown, h: Host) => (read.push(`facts ${h.name}`), { facts: { host: h.name, facts: {}, absent: [], problems: [] }, state: null }),
      rolePasswords: () => new Map(),
    },
    '../../src/provision/plan.js': { planHost: ({ host }: { host: Host }) => ({ host: host.name, changes: [], deferred: [], refusals: [] }) },
    '../../src/provision/estate.js': { planEstate: async (_i: unknown, _h: Host[], _p: unknown, own: unknown) => ({ hosts: own, wiringError: null }) },
    '../../src/instances/check.js': { checkAll: async (hosts: Host[]) => hosts.map((h) => (read.push(`census ${h.name}`), { host: h.name, ok: true, value: {} })) },
    '../../src/backup/catalog.js': { readCatalog: async (_c: unknown, s: Host) => (read.push(`catalog ${s.name}`), { entries: [] }) },
    '../../src/images/record.js': { readRecord: async (c: { host: string }, name: string) => (read.push(`images ${name} on ${c.host}`), null) },
  });
  const input = await collectAudit(inv, selected, pool);
  return { asked: [...new Set(asked)].sort(), read: read.sort(), input };
}

t.test('--limit db-prod: db-prod alone, not its store backup-far', async (t) => {
  const { asked, read } = await collect(t, pick('db-prod'));
  t.same(asked, ['db-prod']);
  t.same(read, ['census db-prod', 'facts db-prod']);
});

t.test('--limit db-prod,backup-far: the store and the image replica are read, staging never', async (t) => {
  const { asked, read, input } = await collect(t, pick('db-prod', 'backup-far'));
  t.same(asked, ['backup-far', 'db-prod']);
  t.same(read, ['catalog backup-far', 'census db-prod', 'facts backup-far', 'facts db-prod', 'images uploads on backup-far']);
  t.same(input.plans.map((p) => p.host), ['db-prod', 'backup-far'], 'one plan per host, from its one gather');
});

t.test('--limit app-prod (an image source): its replica is not read', async (t) => {
  const { asked, read } = await collect(t, pick('app-prod'));
  t.same(asked, ['app-prod']);
  t.same(read, ['facts app-prod']);
});
