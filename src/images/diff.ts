// The sorted merge of two manifests: one pass, each side read once, nothing held but the current batches.
import { displayPath, ManifestError } from './manifest.js';
import type { Digest, Entry, Row } from './types.js';

/** The hash a digest vouches for now (a rotten file's new hash), or undefined. */
export function currentHash(d: Digest): string | undefined {
  return d.kind === 'hashed' || d.kind === 'rotten' ? d.value : undefined;
}

/**
 * The verdict on a path seen on both sides: rot on the source first (whatever the replica holds, it must not be
 * overwritten from there), then size, then the hashes when both sides have one.
 */
export function comparePair(source: Entry, replica: Entry): Row {
  const path = source.path;
  if (source.digest.kind === 'rotten') return { status: 'source_rot', path, source, replica };
  if (source.size !== replica.size) return { status: 'size_mismatch', path, source, replica };
  const a = source.digest;
  const b = replica.digest;
  if (a.kind === 'unreadable' || b.kind === 'unreadable') return { status: 'unreadable', path, source, replica };
  const [ha, hb] = [currentHash(a), currentHash(b)];
  if (ha !== undefined && hb !== undefined)
    return ha === hb ? { status: 'equal', verified: true, path, source, replica } : { status: 'content_mismatch', path, source, replica };
  return { status: 'equal', verified: false, path, source, replica };
}

/** The row of a path only the source has: missing on the replica, or rot (never copied). */
function sourceOnly(source: Entry): Row {
  return source.digest.kind === 'rotten' ? { status: 'source_rot', path: source.path, source } : { status: 'missing', path: source.path, source };
}

/** Reads one side's batches with a synchronous fast path; checks the order the merge depends on. */
class Cursor {
  private batch: Entry[] = [];
  private i = 0;
  private ended = false;
  private last: string | undefined;
  constructor(
    private readonly it: AsyncIterator<Entry[]>,
    private readonly side: string,
  ) {}

  /** The current entry if it is already buffered. */
  head(): Entry | undefined {
    return this.batch[this.i];
  }

  /** Read batches until an entry is buffered; undefined at the end of the side. */
  async fill(): Promise<Entry | undefined> {
    while (this.i >= this.batch.length && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else [this.batch, this.i] = [r.value, 0];
    }
    return this.head();
  }

  /** Consume the current entry. */
  take(): Entry {
    const e = this.batch[this.i++];
    if (this.last !== undefined && !(this.last < e.path))
      throw new ManifestError(`${this.side} manifest is not sorted at ${JSON.stringify(displayPath(e.path))}`);
    this.last = e.path;
    return e;
  }
}

/**
 * Merge two path-sorted entry streams into rows, in path order, in batches of up to `batchSize`.
 * Only on the source: missing (on the replica) or source_rot; only on the replica: extra; on both: comparePair.
 */
export async function* diffSorted(
  source: AsyncIterable<Entry[]>,
  replica: AsyncIterable<Entry[]>,
  batchSize = 1024,
): AsyncGenerator<Row[]> {
  const s = new Cursor(source[Symbol.asyncIterator](), 'source');
  const r = new Cursor(replica[Symbol.asyncIterator](), 'replica');
  let out: Row[] = [];
  for (;;) {
    const a = s.head() ?? (await s.fill());
    const b = r.head() ?? (await r.fill());
    if (!a && !b) break;
    if (a && (!b || a.path < b.path)) out.push(sourceOnly(s.take()));
    else if (b && (!a || b.path < a.path)) out.push({ status: 'extra', path: b.path, replica: r.take() });
    else out.push(comparePair(s.take(), r.take()));
    if (out.length >= batchSize) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}
