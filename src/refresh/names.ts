// Table names as scrub rules write them: `schema.table` as PostgreSQL spells it (case-sensitive), a bare name in `public`.
import { sqlIdent, sqlLiteral } from '../core/quote.js';

/** A table of the restored database. */
export interface TableName {
  schema: string;
  table: string;
}

/** The table a rule's name means (pure): `crm.Contacts` is schema crm, table Contacts; `users` is public.users. */
export function tableName(name: string): TableName {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** The canonical key of a table: `schema.table`, always with its schema (pure). */
export function tableKey(name: string | TableName): string {
  const t = typeof name === 'string' ? tableName(name) : name;
  return `${t.schema}.${t.table}`;
}

/** The table quoted for SQL: `"crm"."Contacts"` (pure). */
export function tableSql(name: string | TableName): string {
  const t = typeof name === 'string' ? tableName(name) : name;
  return `${sqlIdent(t.schema)}.${sqlIdent(t.table)}`;
}

/** The table as a regclass literal, for catalog queries: `'"crm"."Contacts"'::regclass` (pure). */
export function tableRegclass(name: string | TableName): string {
  return `${sqlLiteral(tableSql(name))}::regclass`;
}

/** How a table is shown to the operator: its bare name in public, else schema.table (pure). */
export function tableLabel(name: string | TableName): string {
  const t = typeof name === 'string' ? tableName(name) : name;
  return t.schema === 'public' ? t.table : `${t.schema}.${t.table}`;
}
