import t from 'tap';
import { runGraph } from '../../src/core/graph.js';
import { restoreTasks, taskName, type PipelineShape, type Work } from '../../src/refresh/restore-graph.js';

const shape = (s: Partial<PipelineShape>): PipelineShape => ({ updated: [], waits: false, others: false, own: [], postTables: [], restBuildsKeys: false, keys: [], ...s });

// the lab's schema, in short: users and orders rewritten (orders references users), audit truncated, items untouched
const LAB = shape({
  updated: ['public.users', 'public.orders'],
  others: true,
  own: ['public.users', 'public.orders', 'public.audit'],
  postTables: ['public.users', 'public.orders', 'public.audit', 'public.items'],
  keys: [
    { name: 'orders_user_fk', table: 'public.orders', references: 'public.users' },
    { name: 'items_order_fk', table: 'public.items', references: 'public.orders' },
  ],
});

/** Run the pipeline's tasks with fake work (each a few ticks long, `slow` ones longer); the order of starts and ends. */
async function order(s: PipelineShape, o: { slow?: string[]; fails?: string; slots?: Record<string, number> } = {}) {
  const log: string[] = [];
  const work = async (w: Work) => {
    const name = taskName(w);
    log.push(`+${name}`);
    for (let i = 0; i < (o.slow?.includes(name) ? 20 : 2); i++) await new Promise((resolve) => setImmediate(resolve));
    log.push(`-${name}`);
    if (name === o.fails) throw new Error(`${name} failed`);
  };
  const outcome = await runGraph(restoreTasks(s, work), o.slots ?? { load: 1, scrub: 4, key: 2 });
  const ended = (n: string) => log.indexOf(`-${n}`);
  const began = (n: string) => log.indexOf(`+${n}`);
  return { log, outcome, before: (a: string, b: string) => ended(a) >= 0 && began(b) >= 0 && ended(a) < began(b), began };
}

t.test('the dependencies of the pipeline, as declared (scrubbed while restoring, each table as soon as it is in)', async (t) => {
  const needs = Object.fromEntries(restoreTasks(LAB, async () => undefined).map((task) => [task.name, task.needs]));
  t.same(needs, {
    'load-others': [],
    truncate: [],
    'load public.users': ['truncate'],
    'scrub public.users': ['load public.users'],
    'load public.orders': ['truncate'],
    'scrub public.orders': ['load public.orders'],
    scrubbed: ['truncate', 'scrub public.users', 'scrub public.orders'],
    data: ['load-others', 'scrubbed'],
    'build-others': ['load-others'],
    'build public.users': ['scrub public.users'],
    'build public.orders': ['scrub public.orders'],
    'build public.audit': ['truncate'],
    'build-rest': ['data', 'build-others', 'build public.users', 'build public.orders', 'build public.audit'],
    'key public.orders orders_user_fk': ['build public.orders', 'build public.users'],
    'key public.items items_order_fk': ['build-others', 'build public.orders'],
    checkpoint: ['build-rest'],
    scan: ['data'],
  });
});

const orders: { name: string; shape: PipelineShape; slow?: string[]; before: [string, string][]; notBefore?: [string, string][] }[] = [
  {
    name: 'data -> scrub -> indexes -> foreign keys; the scan once every row is final; the checkpoint after every build',
    shape: LAB,
    before: [
      ['truncate', 'load public.users'],
      ['load public.users', 'scrub public.users'],
      ['scrub public.users', 'build public.users'],
      ['truncate', 'build public.audit'],
      ['load-others', 'build-others'],
      ['build public.users', 'key public.orders orders_user_fk'],
      ['build public.orders', 'key public.orders orders_user_fk'],
      ['build-others', 'key public.items items_order_fk'],
      ['scrub public.orders', 'data'],
      ['load-others', 'data'],
      ['data', 'scan'],
      ['data', 'build-rest'],
      ['build-rest', 'checkpoint'],
    ],
  },
  {
    name: "a table's indexes are built while the other tables' data still loads, and its keys checked",
    shape: LAB,
    slow: ['load-others'],
    before: [
      ['build public.users', 'data'],
      ['key public.orders orders_user_fk', 'data'],
    ],
    notBefore: [['load-others', 'build public.users']],
  },
  {
    name: 'the scrub that waits for all the data: after both loads, the truncates first',
    shape: { ...LAB, waits: true },
    slow: ['load-others'],
    before: [
      ['load-others', 'truncate'],
      ['load-scrubbed', 'truncate'],
      ['truncate', 'scrub public.users'],
      ['truncate', 'scrub public.orders'],
      ['scrub public.users', 'build public.users'],
    ],
  },
  {
    name: 'the rest may build a key a foreign key needs: every key waits for it',
    shape: { ...LAB, restBuildsKeys: true },
    before: [
      ['build-rest', 'key public.orders orders_user_fk'],
      ['build-rest', 'key public.items items_order_fk'],
    ],
  },
  {
    name: 'a key on a table not grouped (another schema, a quoted name) waits for everything',
    shape: { ...LAB, keys: [{ name: 'contacts_fk', table: 'crm.Contacts', references: 'public.users' }] },
    before: [['build-rest', 'key crm.Contacts contacts_fk']],
  },
];

for (const c of orders)
  t.test(c.name, async (t) => {
    const run = await order(c.shape, { slow: c.slow });
    t.ok(run.outcome.ok);
    for (const [a, b] of c.before) t.ok(run.before(a, b), `${a} ends before ${b} starts`);
    for (const [a, b] of c.notBefore ?? []) t.notOk(run.before(a, b), `${b} does not wait for ${a}`);
  });

t.test('the truncate-only rules (nothing rewritten): no load of a rewritten table, the scrub is the truncate', async (t) => {
  const run = await order(shape({ own: ['public.audit'], postTables: ['public.audit'] }));
  t.ok(run.outcome.ok);
  t.notOk(run.log.some((l) => /load public/.test(l)));
  t.ok(run.before('truncate', 'build public.audit'));
});

t.test('the rewritten tables load one after another (the load slot), each scrubbed as soon as it is in', async (t) => {
  const run = await order(LAB, { slots: { load: 1, scrub: 4, key: 2 } });
  t.ok(run.before('load public.users', 'load public.orders'), 'in the load order');
  t.ok(run.began('scrub public.users') < run.log.indexOf('-load public.orders'), 'users scrubbed while orders loads');
});

t.test('a failed scrub: its table is never built, no key checked, nothing scanned; what ran ended', async (t) => {
  const run = await order(LAB, { fails: 'scrub public.users' });
  t.notOk(run.outcome.ok);
  t.same(run.outcome.failed.map((f) => f.name), ['scrub public.users']);
  for (const never of ['build public.users', 'key public.orders orders_user_fk', 'data', 'scan', 'build-rest', 'checkpoint']) t.ok(run.outcome.notStarted.includes(never), `${never} never started`);
  const starts = run.log.filter((l) => l.startsWith('+')).length;
  t.equal(run.log.length, starts * 2, 'every task that started ended');
});
