// The scrub-while-restoring pipeline as named tasks with their dependencies (pure): what may start when. The work of
// each task is given by the caller (src/refresh/restore.ts), so that the order is tested with fake work.
import type { Task } from '../core/graph.js';

/** What the pipeline's shape depends on. */
export interface PipelineShape {
  /** The tables the rules rewrite, in the order their data loads. */
  updated: string[];
  /** Whether the scrub waits for all the data (a keep_where reads other tables, or a scrubbed table has partitions). */
  waits: boolean;
  /** Whether the tables the rules do not touch have indexes or constraints of their own to build. */
  others: boolean;
  /** The tables the rules touch that have indexes or constraints of their own. */
  own: string[];
  /** The tables whose post-data entries are grouped by table (others and own). */
  postTables: string[];
  /** Whether the post-data on no one table builds an index or constraint a foreign key may need. */
  restBuildsKeys: boolean;
  /** The foreign keys added NOT VALID and validated as soon as both their tables are built. */
  keys: { name: string; table: string; references: string }[];
}

/** One task's work, for an exhaustive switch in the caller. */
export type Work =
  | { kind: 'load-others' } // the data of the tables the rules do not rewrite
  | { kind: 'load-scrubbed' } // the data of every rewritten table at once (when the scrub waits for all the data)
  | { kind: 'load'; table: string } // the data of one rewritten table
  | { kind: 'truncate' } // the truncates of the rules
  | { kind: 'scrub'; table: string } // one rewritten table's scrub transaction
  | { kind: 'scrubbed' } // every touched table scrubbed (the scrub's report)
  | { kind: 'data' } // every row loaded and scrubbed
  | { kind: 'build-others' } // the indexes and constraints of the tables the rules do not touch
  | { kind: 'build'; table: string } // those of one touched table
  | { kind: 'build-rest' } // the post-data on no one table
  | { kind: 'key'; table: string; name: string } // one foreign key of a table, added and validated
  | { kind: 'checkpoint' } // the new pages written before the swap's checkpoint would
  | { kind: 'scan' }; // the scan for personal data of the scrubbed rows

/** The slots whose bounds the caller gives to runGraph. */
export type PipelineSlot = 'load' | 'scrub' | 'key';

/** The task names (pure), so that callers and tests name the same things. */
export function taskName(w: Work): string {
  switch (w.kind) {
    case 'load':
    case 'scrub':
    case 'build':
      return `${w.kind} ${w.table}`;
    case 'key':
      return `key ${w.table} ${w.name}`;
    case 'load-others':
    case 'load-scrubbed':
    case 'truncate':
    case 'scrubbed':
    case 'data':
    case 'build-others':
    case 'build-rest':
    case 'checkpoint':
    case 'scan':
      return w.kind;
  }
}

/** The pipeline's tasks in the order they are declared (pure). Data: the other tables' load beside the rewritten
 *  tables'; each rewritten table scrubbed as soon as its data is in, or, when the scrub waits, all of them after all
 *  the data. Each touched table is final once scrubbed (a truncated one once truncated); its indexes are built then,
 *  the others' once their data is in, the rest after everything; a foreign key once both its tables are built; the
 *  scan once every row is final, beside the builds. */
export function restoreTasks(shape: PipelineShape, work: (w: Work) => Promise<unknown>): Task[] {
  const task = (w: Work, needs: Work[], slot?: PipelineSlot): Task => ({ name: taskName(w), needs: [...new Set(needs.map(taskName))], slot, run: () => work(w) });
  const truncate: Work = { kind: 'truncate' };
  const loadOthers: Work = { kind: 'load-others' };
  const loadScrubbed: Work = { kind: 'load-scrubbed' };
  const scrubs = shape.updated.map((table): Work => ({ kind: 'scrub', table }));
  const scrubbed: Work = { kind: 'scrubbed' };
  const data: Work = { kind: 'data' };
  const final = (table: string): Work => (shape.updated.includes(table) ? { kind: 'scrub', table } : truncate);
  const buildOthers: Work = { kind: 'build-others' };
  const builds = shape.own.map((table): Work => ({ kind: 'build', table }));
  const rest: Work = { kind: 'build-rest' };
  // a key's table is built by its own group, by the others' group, or (not grouped, or a key it may need is in the
  // rest) only after everything
  const built = (table: string): Work => (shape.restBuildsKeys || !shape.postTables.includes(table) ? rest : shape.own.includes(table) ? { kind: 'build', table } : buildOthers);
  const loading = shape.waits
    ? [task(loadScrubbed, []), task(truncate, [loadOthers, loadScrubbed]), ...scrubs.map((s) => task(s, [truncate], 'scrub'))]
    : [task(truncate, []), ...shape.updated.flatMap((table) => [task({ kind: 'load', table }, [truncate], 'load'), task({ kind: 'scrub', table }, [{ kind: 'load', table }], 'scrub')])];
  return [
    task(loadOthers, []),
    ...loading,
    task(scrubbed, [truncate, ...scrubs]),
    task(data, [loadOthers, scrubbed]),
    ...(shape.others ? [task(buildOthers, [loadOthers])] : []),
    ...shape.own.map((table) => task({ kind: 'build', table }, [final(table)])),
    task(rest, [data, ...(shape.others ? [buildOthers] : []), ...builds]),
    ...shape.keys.map((k) => task({ kind: 'key', table: k.table, name: k.name }, [built(k.table), built(k.references)], 'key')),
    task({ kind: 'checkpoint' }, [rest]),
    task({ kind: 'scan' }, [data]),
  ];
}

