// Manifest records (NUL-terminated, TAB-separated: HASH SIZE MTIME CTIME INODE PATH) parsed from a byte stream.
// HASH is hex (or decimal for crc32), '-' not hashed, '!' unreadable, NEW/GOOD for a file whose bytes rotted.
import type { Digest, Entry } from './types.js';

/** A manifest that cannot be read as one; names the record so the host's file can be looked at. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

const UNHASHED: Digest = Object.freeze({ kind: 'unhashed' });
const UNREADABLE: Digest = Object.freeze({ kind: 'unreadable' });

function digestOf(field: string): Digest {
  if (field === '-') return UNHASHED;
  if (field === '!') return UNREADABLE;
  const slash = field.indexOf('/');
  if (slash > 0) return { kind: 'rotten', value: field.slice(0, slash), expected: field.slice(slash + 1) };
  return { kind: 'hashed', value: field };
}

/** Parse one record given as a latin1 string (one char per byte); the path keeps any TAB or newline it holds. */
export function parseRecord(rec: string): Entry {
  const tabs: number[] = [];
  let at = -1;
  while (tabs.length < 5) {
    at = rec.indexOf('\t', at + 1);
    if (at < 0) throw new ManifestError(`malformed manifest record (${tabs.length + 1} fields): ${JSON.stringify(rec.slice(0, 120))}`);
    tabs.push(at);
  }
  const size = Number(rec.slice(tabs[0] + 1, tabs[1]));
  const path = rec.slice(tabs[4] + 1);
  if (!Number.isSafeInteger(size) || size < 0 || tabs[0] === 0 || path === '')
    throw new ManifestError(`malformed manifest record: ${JSON.stringify(rec.slice(0, 120))}`);
  return { path, size, mtime: rec.slice(tabs[1] + 1, tabs[2]), digest: digestOf(rec.slice(0, tabs[0])) };
}

/** The whole records of `buf` from `start` as entries, and where the unfinished record (if any) begins. */
function parseRecords(buf: Buffer, start = 0): { entries: Entry[]; rest: number } {
  const entries: Entry[] = [];
  for (let end = buf.indexOf(0, start); end >= 0; end = buf.indexOf(0, start)) {
    entries.push(parseRecord(buf.toString('latin1', start, end)));
    start = end + 1;
  }
  return { entries, rest: start };
}

const truncated = (buf: Buffer, at: number) => new ManifestError(`manifest ends inside a record: ${JSON.stringify(buf.toString('latin1', at, at + 120))}`);

/** A whole manifest held in memory, parsed at once (a small one, read while the other side still scans). */
export function parseManifest(buf: Buffer): Entry[] {
  const { entries, rest } = parseRecords(buf);
  if (rest < buf.length) throw truncated(buf, rest);
  return entries;
}

/**
 * Split a byte stream into entries, one batch per chunk read, holding only the unfinished record between chunks.
 * A stream that does not end with NUL ends with a truncated record: an error, never a silently shorter side.
 */
export async function* entryBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<Entry[]> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    const parsed = parseRecords(buf);
    rest = buf.subarray(parsed.rest);
    if (parsed.entries.length) yield parsed.entries;
  }
  if (rest.length) throw truncated(rest, 0);
}

/** The raw bytes of a path as UTF-8 text for people and JSON (names that are not UTF-8 show U+FFFD). */
export function displayPath(path: string): string {
  return Buffer.from(path, 'latin1').toString('utf8');
}
