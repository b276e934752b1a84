// The dump's table of contents and post-data SQL read as data (pure): which entries belong to which table, which keys
// ironclad builds itself, and what in a dump makes the scrub wait until everything is restored.

/** The `schema.table` key of a TABLE DATA entry of a table of contents (names without spaces; others never match). */
export const dataOf = (line: string) => {
  const m = /^\d+; \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(line);
  return m ? `${m[1]}.${m[2]}` : undefined;
};

/** A pg_restore table of contents (`pg_restore -l`) without the data of the given tables (`schema.table`) (pure). */
export function withoutDataOf(list: string, tables: string[]): string {
  const skip = new Set(tables);
  return list
    .split('\n')
    .filter((line) => !skip.has(dataOf(line) ?? ''))
    .join('\n');
}

/** Only the data entries of the given tables (`schema.table`) from a pg_restore table of contents (pure). */
export function onlyDataOf(list: string, tables: string[]): string {
  const keep = new Set(tables);
  return list
    .split('\n')
    .filter((line) => keep.has(dataOf(line) ?? ''))
    .join('\n');
}


/** What in a dump's post-data would act on the rows the scrub rewrites (rules, keys that cascade updates): scrubbing
 *  before those exist would skip them, so such a dump is restored whole and scrubbed after. Triggers are not among
 *  them: production's triggers never run for the scrub (switched off for it when they exist). */
export const ACTS_ON_UPDATES = /^CREATE (?:OR REPLACE )?RULE |ON UPDATE CASCADE/m;

/** Why a dump must be restored whole before its scrub, or undefined when scrubbing between data and indexes is safe. */
export function scrubBeforeIndexesUnsafe(postSql: string): string | undefined {
  const m = ACTS_ON_UPDATES.exec(postSql);
  return m ? `the dump has ${m[0].trim()} definitions, which must see the scrub` : undefined;
}

export interface ForeignKey {
  table: string;
  /** The table it references (schema-qualified, as `table`). */
  references: string;
  name: string;
  /** The dump's ADD CONSTRAINT statement with NOT VALID: no check of the rows, an instant catalog change. */
  add: string;
}

/** The plain foreign keys of a dump's post-data, taken out of its restore list (pure). pg_restore adds foreign keys one
 *  after another (each checks every row while it locks the table it references), so these are added NOT VALID and then
 *  validated in parallel instead: the same constraints, checked the same way, in the end. Keys of another shape
 *  (partitioned tables, quoted names, already NOT VALID in the dump, with a comment) stay in the list for pg_restore. */
export function parallelForeignKeys(postSql: string, list: string): { list: string; keys: ForeignKey[] } {
  const keys: ForeignKey[] = [];
  let lines = list.split('\n');
  const header = /^-- Name: ([^;\n]+); Type: FK CONSTRAINT; Schema: ([^;\n]+); Owner: [^\n]*\n--\n\n(ALTER TABLE [^;]*;)$/gm;
  for (const [, tag, schema, statement] of postSql.matchAll(header)) {
    const m = /^ALTER TABLE ONLY ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\n {4}ADD CONSTRAINT ([a-z_][a-z0-9_]*) FOREIGN KEY \([^;]*\) REFERENCES ([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\([^;]*;$/.exec(statement);
    // (a backslash anywhere, even quoted, and the statement stays with pg_restore: psql never reads a meta-command from a dump)
    if (!m || statement.includes('\\') || /\bNOT VALID;$/.test(statement) || postSql.includes(`COMMENT ON CONSTRAINT ${m[2]} ON`)) continue;
    const entry = (l: string) => l.endsWith(` FK CONSTRAINT ${schema} ${tag} ${l.split(' ').pop()}`) && /^\d+; \d+ \d+ FK CONSTRAINT /.test(l);
    if (lines.filter(entry).length !== 1) continue;
    lines = lines.filter((l) => !entry(l));
    keys.push({ table: m[1], references: m[3], name: m[2], add: `${statement.slice(0, -1)} NOT VALID;` });
  }
  return { list: lines.join('\n'), keys };
}

/** A primary key or unique constraint that ironclad builds itself: its unique index by CREATE UNIQUE INDEX (a SHARE
 *  lock, built beside the table's other indexes), then the constraint on it by ADD CONSTRAINT ... USING INDEX (an
 *  instant catalog change). pg_restore's ADD CONSTRAINT builds the index under an ACCESS EXCLUSIVE lock, after and
 *  before every other index of its table, so that one table's indexes are built one after another. */
export interface UniqueKey {
  table: string;
  name: string;
  kind: 'PRIMARY KEY' | 'UNIQUE';
  /** The dump's own statement, run instead when PostgreSQL refuses the constraint on the index. */
  statement: string;
  index: string;
  constraint: string;
  /** Its line in the restore list, taken out of it. */
  line: string;
}

/** The plain primary keys and unique constraints among a dump's post-data entries (pure): unquoted names, a column
 *  list and nothing else (no index options, DEFERRABLE, NULLS NOT DISTINCT or comment), not of a partitioned table, and
 *  no tablespace set for any entry of the dump. */
export function uniqueKeys(postSql: string, lines: string[]): UniqueKey[] {
  if (/^SET default_tablespace = (?!'';)/m.test(postSql)) return [];
  const keys: UniqueKey[] = [];
  const header = /^-- Name: ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*); Type: CONSTRAINT; Schema: public; Owner: [^\n]*\n--\n\n(ALTER TABLE [^;]*;)$/gm;
  for (const [, tag, name, statement] of postSql.matchAll(header)) {
    const m = /^ALTER TABLE ONLY (public\.[a-z_][a-z0-9_]*)\n {4}ADD CONSTRAINT ([a-z_][a-z0-9_]*) (PRIMARY KEY|UNIQUE) (\([^()"]*\));$/.exec(statement);
    if (!m || statement.includes('\\') || m[1] !== `public.${tag}` || m[2] !== name || postSql.includes(`COMMENT ON CONSTRAINT ${name} ON`)) continue;
    // a partitioned table's (its partitions' indexes are attached to it): USING INDEX is not for those
    if (postSql.includes(`ALTER INDEX public.${name} ATTACH PARTITION `)) continue;
    const entry = lines.filter((l) => new RegExp(`^\\d+; \\d+ \\d+ CONSTRAINT public ${tag} ${name} `).test(l));
    if (entry.length !== 1) continue;
    keys.push({
      table: m[1],
      name,
      kind: m[3] as UniqueKey['kind'],
      statement,
      index: `CREATE UNIQUE INDEX ${name} ON ${m[1]} USING btree ${m[4]};`,
      constraint: `ALTER TABLE ONLY ${m[1]} ADD CONSTRAINT ${name} ${m[3]} USING INDEX ${name};`,
      line: entry[0],
    });
  }
  return keys;
}

/** A dump's post-data entries (indexes and constraints) by the public table they are built on, from the post-data
 *  SQL and a list of post-data entries (`pg_restore -l --section=post-data`), and the entries of any other kind or on a
 *  table with a quoted name, in `rest` (pure). */
export function postDataByTable(postSql: string, list: string): { tables: Map<string, string[]>; rest: string[] } {
  const indexed = new Map<string, string>();
  for (const [, name, table] of postSql.matchAll(/^CREATE (?:UNIQUE )?INDEX ([a-z_][a-z0-9_]*) ON (?:ONLY )?public\.([a-z_][a-z0-9_]*) /gm)) indexed.set(name, table);
  const constrained = new Set([...postSql.matchAll(/^-- Name: ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*); Type: CONSTRAINT; Schema: public;/gm)].map(([, t, c]) => `${t} ${c}`));
  const tables = new Map<string, string[]>();
  const rest: string[] = [];
  for (const line of list.split('\n').filter((l) => /^\d+;/.test(l))) {
    const index = /^\d+; \d+ \d+ INDEX public ([a-z_][a-z0-9_]*) /.exec(line);
    const constraint = /^\d+; \d+ \d+ CONSTRAINT public ([a-z_][a-z0-9_]*) ([a-z_][a-z0-9_]*) /.exec(line);
    const table = index ? indexed.get(index[1]) : constraint && constrained.has(`${constraint[1]} ${constraint[2]}`) ? constraint[1] : undefined;
    if (table) tables.set(table, [...(tables.get(table) ?? []), line]);
    else rest.push(line);
  }
  return { tables, rest };
}

