// The scan for personal data left after scrubbing: emails outside the allowed domains, phone numbers, card numbers (Luhn).
import { sqlIdent } from '../core/quote.js';
import { tableSql, type TableName } from './names.js';

export type PiiHit = { kind: 'email' | 'phone' | 'card'; value: string };

const EMAIL = /[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
const DIGITS = /\+?\d[\d ().-]{5,}\d/g;
const WORD = /^[A-Za-z_]$/;

/** True when a digit string passes the Luhn check. */
export function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Hide most of a hit so the report itself does not leak it. */
export function redact(value: string): string {
  return value.length <= 4 ? '****' : `${value.slice(0, 2)}${'*'.repeat(Math.max(3, value.length - 4))}${value.slice(-2)}`;
}

/** Personal data in one value. Fictional phone numbers (555-01xx) and allowed email domains are not hits. */
export function scanValue(value: string, allowedDomains: string[]): PiiHit[] {
  const hits: PiiHit[] = [];
  for (const m of value.matchAll(EMAIL)) {
    const domain = m[1].toLowerCase();
    if (!allowedDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) hits.push({ kind: 'email', value: m[0] });
  }
  const withoutEmails = value.replace(EMAIL, ' ');
  for (const m of withoutEmails.matchAll(DIGITS)) {
    // a run of digits inside a word (a hash, a token, an identifier) is not a number someone is reached at
    if (WORD.test(withoutEmails[m.index - 1] ?? '') || WORD.test(withoutEmails[m.index + m[0].length] ?? '')) continue;
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) hits.push({ kind: 'card', value: m[0] });
    else if (digits.length >= 7 && digits.length <= 15 && !/^(1)?55501\d\d$/.test(digits) && !/^\d{4}-\d{2}-\d{2}/.test(m[0])) hits.push({ kind: 'phone', value: m[0] });
  }
  return hits;
}

/** The allowed domains that can be put into SQL (pure). */
const sqlDomains = (allowed: string[]) => allowed.filter((d) => /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(d)).map((d) => d.toLowerCase());

/** SQL: whether the text value `value` (an expression) may hold a hit for scanValue (pure). It has an @ and is not
 *  one email address of an allowed domain and nothing else, or it has no @ and a run of 7 digits or more that is not
 *  one fictional phone number (555-01xx) and nothing else, the run not inside a word (no letter or '_' next to it). The harmless email is one local part of scanValue's
 *  characters, one @, and a domain of letters, digits, dots and hyphens that does not start with a dot, has no two
 *  dots together (anywhere in the value: stricter than scanValue, never looser) and is an allowed domain or ends with
 *  a dot and one (under a dotless domain like localhost it needs a label: scanValue sees no email there). The value
 *  is compared in the "C" collation: ASCII classes and lower(), as scanValue's regular expressions, and about half
 *  the cost of the same tests in a UTF-8 locale. NULL for NULL. `shape`: a cheap test of `v` for values known to hold
 *  nothing (the column's rule's shape), false without the tests above. */
export function candidateCondition(value: string, allowedDomains: string[], shape?: (v: string) => string | undefined): string {
  const v = `(${value} COLLATE "C")`;
  const endings = sqlDomains(allowedDomains).flatMap((d) => (d.includes('.') ? [`'%@${d}'`, `'%.${d}'`] : [`'%.${d}'`]));
  const harmlessEmail = endings.length
    ? `(lower(${v}) LIKE ANY (ARRAY[${endings.join(', ')}]) AND ${v} ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$' AND ${v} NOT LIKE '%@.%' AND ${v} NOT LIKE '%..%')`
    : 'false';
  const fictionalPhone = '^(?:\\+?1[ .-]?)?\\(?555\\)?[ .-]?01[0-9]{2}$';
  // a run of 7 digits needs 7 bytes: shorter values (codes, kinds, statuses) skip the regular expressions (CASE: the
  // planner orders the terms of an AND by their cost, and would put the regular expression first)
  const full = `((strpos(${v}, '@') > 0 AND NOT ${harmlessEmail}) OR (strpos(${v}, '@') = 0 AND CASE WHEN octet_length(${v}) >= 7 THEN ${v} ~ '(^|[^A-Za-z0-9_])[0-9][0-9 ().-]{5,}[0-9]([^A-Za-z0-9_]|$)' AND ${v} !~ '${fictionalPhone}' ELSE false END))`;
  // a value of a shape its rule makes (scrub.ts ruleValueShape) holds nothing: the tests above are skipped for it
  const known = shape?.(v);
  return known ? `(CASE WHEN ${known} THEN false ELSE ${full} END)` : full;
}

/** SQL that returns the candidate values of a table's text-like columns, in one pass over the table: a row per table
 *  row that has any, a column per column given (NULL where that column's value is not a candidate), at most `limit`
 *  rows. Only values that may hold a hit come back, so the limit caps what is reported, never what is looked at: a
 *  table of scrubbed emails is read whole on the server, not sent back. `shapes`: by column, its rule's shape. */
export function candidateSql(table: string | TableName, columns: string[], limit: number, allowedDomains: string[] = [], shapes: Record<string, (v: string) => string | undefined> = {}): string {
  const candidate = (c: string) => candidateCondition(`${sqlIdent(c)}::text`, allowedDomains, shapes[c]);
  return `SELECT ${columns.map((c) => `CASE WHEN ${candidate(c)} THEN ${sqlIdent(c)}::text END`).join(', ')} FROM ${tableSql(table)} WHERE ${columns.map(candidate).join(' OR ')} LIMIT ${limit}`;
}
