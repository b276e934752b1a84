// The one place where values are quoted for a POSIX shell or for SQL.

/** Quote a string as one POSIX shell word. */
export function shq(value: string | number): string {
  const s = String(value);
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : shqAlways(s);
}

/** Quote a string as one POSIX shell word, always in single quotes (for rendered assignments). */
export function shqAlways(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Quote a SQL string literal. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Quote a SQL identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
