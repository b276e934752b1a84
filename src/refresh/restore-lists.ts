// What each pg_restore of the scrub-while-restoring pipeline restores (pure): the dump's list cut into the tables and
// their data, the rewritten tables' data, each group's indexes and constraints, and the foreign keys added apart.
import type { Dump } from './prepare.js';
import { scrubTables, type ScrubRules } from './scrub.js';
import { onlyDataOf, parallelForeignKeys, postDataByTable, uniqueKeys, withoutDataOf, type ForeignKey, type UniqueKey } from './toc.js';

/** The restore lists of a dump under scrub rules, and the groups the pipeline builds. */
export interface RestoreLists {
  /** Everything but the data of the truncated and the rewritten tables, and the parallel foreign keys. */
  list: string;
  /** The data of the rewritten tables only. */
  rewritten: string;
  /** The foreign keys added NOT VALID and validated in parallel. */
  keys: ForeignKey[];
  /** Post-data entries grouped for public tables with plain names (`public.name`); the others' built after everything. */
  post: { tables: Map<string, string[]>; rest: string[] };
  /** The primary keys and unique constraints built by ironclad (unique index, then the constraint on it). */
  uniques: UniqueKey[];
  /** The tables with post-data that the rules do not touch, and those they touch. */
  others: string[];
  own: string[];
  /** The rewritten tables in the order they load: those a foreign key references first (the keys wait for them). */
  loadOrder: string[];
  /** Whether the rest (on no one table) builds an index or constraint: a foreign key may need it. */
  restBuildsKeys: boolean;
  /** The post-data entries pg_restore builds for these tables (without the keys ironclad builds). */
  listOf(tables: string[]): string[];
}

/** The lists of a dump restored under `rules` (pure). */
export function restoreLists(dump: Dump, rules: ScrubRules): RestoreLists {
  const { truncated, updated } = scrubTables(rules);
  const touched = [...updated, ...truncated];
  const fks = parallelForeignKeys(dump.postSql, withoutDataOf(dump.toc, touched));
  const kept = new Set(fks.list.split('\n'));
  const postLines = dump.postList.split('\n').filter((l) => kept.has(l));
  const byTable = postDataByTable(dump.postSql, postLines.join('\n'));
  const post = { tables: new Map([...byTable.tables].map(([t, lines]) => [`public.${t}`, lines])), rest: byTable.rest };
  const uniques = uniqueKeys(dump.postSql, postLines);
  const byUs = new Set(uniques.map((k) => k.line));
  const referenced = new Set(fks.keys.map((k) => k.references));
  return {
    list: fks.list,
    rewritten: onlyDataOf(dump.toc, updated),
    keys: fks.keys,
    post,
    uniques,
    others: [...post.tables.keys()].filter((t) => !touched.includes(t)),
    own: touched.filter((t) => post.tables.has(t)),
    loadOrder: [...updated].sort((a, b) => Number(referenced.has(b)) - Number(referenced.has(a))),
    restBuildsKeys: post.rest.some((l) => /^\d+; \d+ \d+ (?:INDEX|CONSTRAINT) /.test(l)),
    listOf: (tables) => tables.flatMap((t) => post.tables.get(t) ?? []).filter((l) => !byUs.has(l)),
  };
}
