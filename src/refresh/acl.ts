// The dump's privileges read as data (pure): the SQL text of its ACL entries (`pg_restore -L <ACL entries> -f -`) cut
// into statements (quotes and comments respected), each GRANT or REVOKE on a table (views and sequences alike), a
// column or a schema parsed by a strict grammar into names, and written again by ironclad's own quoting. Nothing of the
// dump's text is ever run: a statement that does not parse is only named, never applied.
import { sqlIdent } from '../core/quote.js';

/** One privilege statement of the dump, as data. */
export interface Grant {
  action: 'GRANT' | 'REVOKE';
  /** `GRANT ... WITH GRANT OPTION`, or `REVOKE GRANT OPTION FOR ...` */
  option: boolean;
  privileges: { name: string; columns: string[] }[];
  kind: 'TABLE' | 'SEQUENCE' | 'SCHEMA';
  schema: string;
  /** the table or sequence (for a schema: '') */
  name: string;
  /** a role name, or null for PUBLIC */
  grantee: string | null;
}

const PRIVILEGES = new Set(['ALL', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'USAGE', 'CREATE', 'MAINTAIN']);
/** Statements of a dump's ACL section that carry no privilege (its header; who grants: the owner grants here). */
const HARMLESS = /^(SET [a-z_]+ = [^;]*|SELECT pg_catalog\.set_config\('search_path', '', false\)|SET SESSION AUTHORIZATION \S+|RESET SESSION AUTHORIZATION)$/;

/** Pure: SQL text cut into statements at semicolons outside quotes; comments and psql meta-command lines dropped. */
export function statements(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const blank = cur.trim() === '';
    if (c === '"' || c === "'") {
      const end = closing(text, i, c);
      cur += text.slice(i, end);
      i = end - 1;
    } else if ((c === '-' && text[i + 1] === '-') || (c === '\\' && blank)) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol;
      cur += '\n';
    } else if (c === ';') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out.filter((s) => s !== '');
}

/** Where a quoted token that opens at `i` ends (after its closing quote; a doubled quote is part of it). */
function closing(text: string, i: number, q: string): number {
  let j = i + 1;
  for (;;) {
    const k = text.indexOf(q, j);
    if (k < 0) return text.length;
    if (text[k + 1] === q) j = k + 2;
    else return k + 1;
  }
}

type Token = { word: string } | { ident: string } | { punct: string };

/** Pure: a statement's tokens, or null when it holds anything else than words, quoted names and ( ) , . */
function tokens(statement: string): Token[] | null {
  const out: Token[] = [];
  const re = /\s+|"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)|([(),.])|([^])/gy;
  for (const m of statement.matchAll(re)) {
    if (m[4] !== undefined) return null;
    if (m[1] !== undefined) out.push({ ident: m[1].replace(/""/g, '"') });
    else if (m[2] !== undefined) out.push({ word: m[2] });
    else if (m[3] !== undefined) out.push({ punct: m[3] });
  }
  return out;
}

/** Pure: one statement as a Grant, or null when it is not one ironclad understands. */
export function parseGrant(statement: string): Grant | null {
  const t = tokens(statement);
  if (!t) return null;
  let i = 0;
  const word = (w?: string) => { const x = t[i]; if (x && 'word' in x && (w === undefined || x.word === w)) { i++; return x.word; } return undefined; };
  const punct = (p: string) => { const x = t[i]; if (x && 'punct' in x && x.punct === p) { i++; return true; } return false; };
  // a name as pg_dump writes it: quoted, or bare (then lower case, as PostgreSQL folds it)
  const name = () => { const x = t[i]; if (x && 'ident' in x) { i++; return x.ident; } if (x && 'word' in x && /^[a-z_][a-z0-9_$]*$/.test(x.word)) { i++; return x.word; } return undefined; };
  const action = word('GRANT') ?? word('REVOKE');
  if (action !== 'GRANT' && action !== 'REVOKE') return null;
  let option = action === 'REVOKE' && word('GRANT') !== undefined;
  if (option && (!word('OPTION') || !word('FOR'))) return null;
  const privileges: Grant['privileges'] = [];
  do {
    const p = word();
    if (!p || !PRIVILEGES.has(p)) return null;
    const columns: string[] = [];
    if (punct('(')) {
      do { const c = name(); if (c === undefined) return null; columns.push(c); } while (punct(','));
      if (!punct(')')) return null;
    }
    privileges.push({ name: p, columns });
  } while (punct(','));
  if (!word('ON')) return null;
  const kind = word('TABLE') ?? word('SEQUENCE') ?? word('SCHEMA');
  if (kind !== 'TABLE' && kind !== 'SEQUENCE' && kind !== 'SCHEMA') return null;
  const schema = name();
  if (schema === undefined) return null;
  let object = '';
  if (kind !== 'SCHEMA') {
    if (!punct('.')) return null;
    const n = name();
    if (n === undefined) return null;
    object = n;
  }
  if (!word(action === 'GRANT' ? 'TO' : 'FROM')) return null;
  const grantee = word('PUBLIC') !== undefined ? null : name();
  if (grantee === undefined) return null;
  if (action === 'GRANT' && word('WITH')) {
    if (!word('GRANT') || !word('OPTION')) return null;
    option = true;
  }
  if (i !== t.length) return null;
  if (kind === 'SCHEMA' && privileges.some((p) => p.columns.length)) return null;
  return { action, option, privileges, kind, schema, name: object, grantee };
}

/** Pure: the dump's ACL text as grants, and the statements not understood (shown, never run). */
export function parseAcl(text: string): { grants: Grant[]; unknown: string[] } {
  const grants: Grant[] = [];
  const unknown: string[] = [];
  for (const s of statements(text)) {
    const g = parseGrant(s);
    if (g) grants.push(g);
    else if (!HARMLESS.test(s)) unknown.push(shown(s));
  }
  return { grants, unknown };
}

/** Pure: a statement of the dump as it may be shown (one line, printable, at most 120 characters). */
export function shown(s: string): string {
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ');
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}

/** Pure: the object a grant is on, quoted (`schema.name`, or the schema). */
export function grantTarget(g: Grant): string {
  return g.kind === 'SCHEMA' ? sqlIdent(g.schema) : `${sqlIdent(g.schema)}.${sqlIdent(g.name)}`;
}

/** Pure: a grant written again by ironclad, every name quoted by the one quoting function. */
export function renderGrant(g: Grant): string {
  const privileges = g.privileges.map((p) => (p.columns.length ? `${p.name} (${p.columns.map(sqlIdent).join(', ')})` : p.name)).join(', ');
  const grantee = g.grantee === null ? 'PUBLIC' : sqlIdent(g.grantee);
  return g.action === 'GRANT'
    ? `GRANT ${privileges} ON ${g.kind} ${grantTarget(g)} TO ${grantee}${g.option ? ' WITH GRANT OPTION' : ''};`
    : `REVOKE ${g.option ? 'GRANT OPTION FOR ' : ''}${privileges} ON ${g.kind} ${grantTarget(g)} FROM ${grantee};`;
}
