// The scan for personal data left after scrubbing: emails outside the allowed domains, phone numbers, card numbers (Luhn).

export type PiiHit = { kind: 'email' | 'phone' | 'card'; value: string };

const EMAIL = /[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)/g;
const DIGITS = /\+?\d[\d ().-]{5,}\d/g;

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
    const digits = m[0].replace(/\D/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) hits.push({ kind: 'card', value: m[0] });
    else if (digits.length >= 7 && digits.length <= 15 && !/^(1)?55501\d\d$/.test(digits) && !/^\d{4}-\d{2}-\d{2}/.test(m[0])) hits.push({ kind: 'phone', value: m[0] });
  }
  return hits;
}

/** A value that is nothing but one email address of an allowed domain, or one fictional phone number (555-01xx),
 *  holds no hit for scanValue. As a POSIX regular expression for the server; the domains' letters are written as
 *  [xX] classes, so the match needs no case folding. */
export function harmlessPattern(allowedDomains: string[]): string {
  const domains = allowedDomains
    .filter((d) => /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(d))
    .map((d) => d.replace(/[a-z]/gi, (ch) => `[${ch.toLowerCase()}${ch.toUpperCase()}]`).replace(/\./g, '\\.'));
  const email = domains.length ? [`[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+\\.)*(${domains.join('|')})`] : [];
  return `^(${[...email, '(\\+?1[ .-]?)?\\(?555\\)?[ .-]?01[0-9]{2}'].join('|')})$`;
}

/** SQL that returns the candidate values of a table's text-like columns (with an @ or a long digit run, and not
 *  harmless), in one pass over the table: a row per table row that has any, a column per column given (NULL where that
 *  column's value is not a candidate), at most `limit` rows. Only values that may hold a hit come back, so the limit
 *  caps what is reported, never what is looked at: a table of scrubbed emails is read whole on the server. */
export function candidateSql(table: string, columns: string[], limit: number, allowedDomains: string[] = []): string {
  const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const harmless = `'${harmlessPattern(allowedDomains).replace(/'/g, "''")}'`;
  const candidate = (c: string) => `${ident(c)}::text ~ '@|[0-9][0-9 ().-]{5,}[0-9]' AND ${ident(c)}::text !~ ${harmless}`;
  return `SELECT ${columns.map((c) => `CASE WHEN ${candidate(c)} THEN ${ident(c)}::text END`).join(', ')} FROM ${ident(table)} WHERE ${columns.map((c) => `(${candidate(c)})`).join(' OR ')} LIMIT ${limit}`;
}
