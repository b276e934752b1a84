// --report FILE: every row of a comparison, streamed as it is found (TSV, or JSON Lines for .jsonl/.ndjson).
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { displayPath } from './manifest.js';
import type { Entry, Row } from './types.js';

/** How report rows are written: TSV (raw name bytes, escaped) or JSON Lines (names as UTF-8). */
export type ReportFormat = 'tsv' | 'jsonl';

/** The format a report file name asks for. */
export function reportFormat(file: string): ReportFormat {
  return /\.(jsonl|ndjson)$/i.test(file) ? 'jsonl' : 'tsv';
}

/** The TSV header line. */
export const TSV_HEADER = 'status\tpath\tsource_size\treplica_size\tsource_hash\treplica_hash\tsource_mtime\treplica_mtime\n';

// Backslash, TAB, CR and LF escaped so that one row is one line; other bytes are kept as the filesystem has them.
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\r': '\\r', '\n': '\\n' };
const tsvField = (s: string) => s.replace(/[\\\t\r\n]/g, (c) => escapes[c]);

function hashText(e: Entry | undefined): string {
  if (!e) return '';
  switch (e.digest.kind) {
    case 'hashed':
      return e.digest.value;
    case 'rotten':
      return `${e.digest.value}/${e.digest.expected}`;
    case 'unhashed':
      return '-';
    case 'unreadable':
      return '!';
  }
}

function sides(row: Row): { source?: Entry; replica?: Entry } {
  return row.status === 'missing' ? { source: row.source } : row.status === 'extra' ? { replica: row.replica } : { source: row.source, replica: row.replica };
}

/** One row as a TSV line, a latin1 string so that the path's bytes are written unchanged. */
export function tsvLine(row: Row): string {
  const { source: s, replica: r } = sides(row);
  const fields = [row.status, tsvField(row.path), s?.size ?? '', r?.size ?? '', hashText(s), hashText(r), s?.mtime ?? '', r?.mtime ?? ''];
  return fields.join('\t') + '\n';
}

/** One row as a JSON line (path as UTF-8 text). */
export function jsonLine(row: Row): string {
  const { source: s, replica: r } = sides(row);
  const side = (e?: Entry) => (e ? { size: e.size, mtime: e.mtime, hash: hashText(e) } : null);
  return JSON.stringify({ status: row.status, path: displayPath(row.path), source: side(s), replica: side(r) }) + '\n';
}

/** A report being written: rows go out as they come, waiting when the disk is slower than the comparison. */
export class ReportWriter {
  private constructor(
    private readonly out: WriteStream,
    private readonly format: ReportFormat,
  ) {}

  /** Create (truncate) the file and write the header. */
  static async open(file: string): Promise<ReportWriter> {
    const out = createWriteStream(file);
    await once(out, 'open');
    const writer = new ReportWriter(out, reportFormat(file));
    if (writer.format === 'tsv') out.write(TSV_HEADER);
    return writer;
  }

  /** Append rows. */
  async write(rows: Row[]): Promise<void> {
    const text = rows.map(this.format === 'tsv' ? tsvLine : jsonLine).join('');
    if (!this.out.write(Buffer.from(text, this.format === 'tsv' ? 'latin1' : 'utf8'))) await once(this.out, 'drain');
  }

  /** Flush and close. */
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
