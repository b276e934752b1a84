import t from 'tap';
import { runGraph, taskGraph, type Task } from '../../src/core/graph.js';

/** Fake tasks: `spec` maps a name to its needs (and a slot, a duration in ticks, whether it fails); the log records
 *  each start and end in the order they happen. */
interface Fake {
  needs?: string[];
  slot?: string;
  ticks?: number;
  fails?: boolean;
}
function fakes(spec: Record<string, Fake>, log: string[]): Task[] {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
  return Object.entries(spec).map(([name, f]) => ({
    name,
    needs: f.needs ?? [],
    slot: f.slot,
    async run() {
      log.push(`+${name}`);
      for (let i = 0; i < (f.ticks ?? 1); i++) await tick();
      log.push(`-${name}`);
      if (f.fails) throw new Error(`${name} broke`);
      return `${name} value`;
    },
  }));
}

const cases: { name: string; spec: Record<string, Fake>; slots?: Record<string, number>; log: string[]; failed?: string[]; notStarted?: string[] }[] = [
  { name: 'a chain runs one after another', spec: { a: {}, b: { needs: ['a'] }, c: { needs: ['b'] } }, log: ['+a', '-a', '+b', '-b', '+c', '-c'] },
  { name: 'independent tasks start at once', spec: { a: { ticks: 2 }, b: {}, c: { needs: ['a', 'b'] } }, log: ['+a', '+b', '-b', '-a', '+c', '-c'] },
  {
    name: 'a task starts as soon as its own needs are done, not the others',
    spec: { slow: { ticks: 5 }, fast: {}, after_fast: { needs: ['fast'] }, join: { needs: ['slow', 'after_fast'] } },
    log: ['+slow', '+fast', '-fast', '+after_fast', '-after_fast', '-slow', '+join', '-join'],
  },
  {
    name: 'a slot bounds how many of its tasks run at once, in the order they became ready',
    spec: { l1: { slot: 'load', ticks: 2 }, l2: { slot: 'load' }, l3: { slot: 'load' }, free: {} },
    slots: { load: 1 },
    log: ['+l1', '+free', '-free', '-l1', '+l2', '-l2', '+l3', '-l3'],
  },
  {
    name: 'after the first failure nothing new starts; running tasks end; their needers never start',
    spec: { bad: { fails: true }, running: { ticks: 3 }, after_bad: { needs: ['bad'] }, after_running: { needs: ['running'] } },
    log: ['+bad', '+running', '-bad', '-running'],
    failed: ['bad'],
    notStarted: ['after_bad', 'after_running'],
  },
  {
    name: 'every failure among the running ones is reported, first first',
    spec: { a: { fails: true }, b: { fails: true, ticks: 2 }, c: { needs: ['a'] } },
    log: ['+a', '+b', '-a', '-b'],
    failed: ['a', 'b'],
    notStarted: ['c'],
  },
  {
    name: 'a task waiting for its slot does not start after a failure',
    spec: { k1: { slot: 'key', fails: true }, k2: { slot: 'key' } },
    slots: { key: 1 },
    log: ['+k1', '-k1'],
    failed: ['k1'],
    notStarted: ['k2'],
  },
  { name: 'an empty graph is done', spec: {}, log: [] },
];

for (const c of cases)
  t.test(c.name, async (t) => {
    const log: string[] = [];
    const outcome = await runGraph(fakes(c.spec, log), c.slots);
    t.same(log, c.log);
    t.equal(outcome.ok, !c.failed);
    t.same(outcome.failed.map((f) => f.name), c.failed ?? []);
    t.same(outcome.notStarted, c.notStarted ?? []);
    if (outcome.ok) t.same([...outcome.values.keys()].sort(), Object.keys(c.spec).sort());
  });

t.test('the error of a failed task is kept; a task that throws before its promise fails the same way', async (t) => {
  const outcome = await runGraph([
    { name: 'sync', needs: [], run: () => { throw new Error('at once'); } },
    { name: 'then', needs: ['sync'], run: async () => 1 },
  ]);
  t.equal((outcome.failed[0].error as Error).message, 'at once');
  t.same(outcome.notStarted, ['then']);
});

t.test('a wrong graph is refused when it is built, before anything runs', async (t) => {
  const task = (name: string, needs: string[] = []): Task => ({ name, needs, run: async () => t.fail(`${name} ran`) });
  const refusals: [string, Task[], RegExp][] = [
    ['an unknown dependency', [task('a', ['ghost'])], /task 'a' needs 'ghost', which is no task/],
    ['a cycle', [task('a', ['c']), task('b', ['a']), task('c', ['b'])], /cycle: a -> c -> b -> a/],
    ['a task needing itself', [task('a', ['a'])], /cycle: a -> a/],
    ['a name twice', [task('a'), task('a')], /'a' is defined twice/],
  ];
  for (const [what, tasks, message] of refusals) {
    t.throws(() => taskGraph(tasks), message, what);
    await t.rejects(runGraph(tasks), message, `${what}: runGraph refuses it too`);
  }
});
