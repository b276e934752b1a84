// Human rendering of the backup catalog.

/** Bytes as a person reads them. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A table of backups, newest first. */
export function renderBackupList(entries: { id: string; host: string; database: string; time: string; bytes: number; tables: number; rows: number; system_identifier: string; verified: boolean; verified_at: string | null; encrypted: boolean }[]): string {
  if (!entries.length) return 'no backups in the store yet';
  const rows = [['ID', 'HOST', 'DATABASE', 'TIME (store)', 'SIZE', 'TABLES', 'ROWS', 'SYSTEM ID', 'ENCRYPTED', 'VERIFIED']];
  for (const e of entries)
    rows.push([e.id, e.host, e.database, e.time, humanBytes(e.bytes), String(e.tables), String(e.rows), e.system_identifier, e.encrypted ? 'yes' : 'NO (before encryption)', e.verified ? `yes ${e.verified_at ?? ''}`.trim() : 'no']);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
