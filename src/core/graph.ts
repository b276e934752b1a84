// A small runner of named tasks with dependencies: each task starts once every task it needs has succeeded, independent
// ones run at once (bounded per named slot), and after the first failure nothing new starts.

/** A unit of work: its name, the tasks it needs done first, and optionally the slot whose bound it counts against. */
export interface Task<T = unknown> {
  name: string;
  needs: string[];
  slot?: string;
  run(): Promise<T>;
}

/** How a graph's run ended: each task's value, and on failure which failed (in the order they failed) and which never
 *  started. */
export interface GraphOutcome {
  ok: boolean;
  values: Map<string, unknown>;
  failed: { name: string; error: unknown }[];
  notStarted: string[];
}

/** Check a list of tasks (names unique, every dependency known, no cycle) and return it; throws an Error naming the
 *  problem, so that a wrong graph fails when it is built, before any task runs. */
export function taskGraph<T extends Task>(tasks: T[]): T[] {
  const byName = new Map<string, T>();
  for (const t of tasks) {
    if (byName.has(t.name)) throw new Error(`task '${t.name}' is defined twice`);
    byName.set(t.name, t);
  }
  for (const t of tasks) for (const n of t.needs) if (!byName.has(n)) throw new Error(`task '${t.name}' needs '${n}', which is no task`);
  // depth-first: a task met again while its own dependencies are being visited closes a cycle
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: T, path: string[]) => {
    if (state.get(t.name) === 'done') return;
    if (state.get(t.name) === 'visiting') throw new Error(`tasks form a cycle: ${[...path.slice(path.indexOf(t.name)), t.name].join(' -> ')}`);
    state.set(t.name, 'visiting');
    for (const n of t.needs) visit(byName.get(n)!, [...path, t.name]);
    state.set(t.name, 'done');
  };
  for (const t of tasks) visit(t, []);
  return tasks;
}

/** Run a checked graph. `slots` bounds how many tasks of a slot run at once (a slot not named is unbounded); ready
 *  tasks start in the order they became ready (ties in the list's order). Resolves once nothing runs any more. */
export function runGraph(tasks: Task[], slots: Record<string, number> = {}): Promise<GraphOutcome> {
  try {
    taskGraph(tasks);
  } catch (e) {
    return Promise.reject(e);
  }
  const values = new Map<string, unknown>();
  const failed: GraphOutcome['failed'] = [];
  const started = new Set<string>();
  const queued = new Set<string>();
  const ready: Task[] = [];
  const busy = new Map<string, number>();
  let running = 0;
  return new Promise((resolve) => {
    const pump = () => {
      if (!failed.length) {
        for (const t of tasks) if (!queued.has(t.name) && t.needs.every((n) => values.has(n))) (queued.add(t.name), ready.push(t));
        for (let i = 0; i < ready.length; ) {
          const t = ready[i];
          const bound = t.slot !== undefined ? slots[t.slot] : undefined;
          if (bound !== undefined && (busy.get(t.slot!) ?? 0) >= Math.max(1, bound)) {
            i++;
            continue;
          }
          ready.splice(i, 1);
          start(t);
        }
      }
      if (running === 0) resolve({ ok: !failed.length, values, failed, notStarted: tasks.filter((t) => !started.has(t.name)).map((t) => t.name) });
    };
    const start = (t: Task) => {
      started.add(t.name);
      running++;
      if (t.slot !== undefined) busy.set(t.slot, (busy.get(t.slot) ?? 0) + 1);
      const end = () => {
        running--;
        if (t.slot !== undefined) busy.set(t.slot, busy.get(t.slot)! - 1);
        pump();
      };
      // a task that throws before its promise is made fails like one whose promise rejects
      Promise.resolve()
        .then(() => t.run())
        .then(
          (v) => (values.set(t.name, v), end()),
          (error: unknown) => (failed.push({ name: t.name, error }), end()),
        );
    };
    pump();
  });
}
