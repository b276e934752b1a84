// The last comparison of an inventory's image pair, kept on the replica host: what `audit` reports as its status and age.
import type { Connector } from '../connectors/types.js';
import { HOST_PATHS } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import type { CompareResult } from './summary.js';
import { PROBLEMS, type Problem } from './types.js';

/** Where the records live on replica hosts, one JSON file per pair name. */
export const IMAGE_RECORD_DIR = HOST_PATHS.images;

/** What one `images compare NAME` found, in a few numbers. */
export interface ImageRecord {
  name: string;
  at: string;
  ok: boolean;
  mode: string;
  hash: string;
  source: { files: number; bytes: number };
  replica: { files: number; bytes: number };
  equal: number;
  counts: Record<Problem, number>;
  walk_errors: number;
  duration_ms: number;
  coverage?: { verified_fraction: number; oldest_days: number | null; days: number; text: string; never?: number; stale?: number }; // images check
}

/** The record file of a pair (the schema allows only [a-z0-9_.-] in names; anything else would be encoded). */
export function recordPath(name: string): string {
  return `${IMAGE_RECORD_DIR}/${encodeURIComponent(name)}.json`;
}

/** Pure: a comparison's result as a record. */
export function toRecord(result: CompareResult, at: Date): ImageRecord {
  const walk_errors = (result.source.walk_errors ?? 0) + (result.replica.walk_errors ?? 0);
  return {
    name: result.name,
    at: at.toISOString(),
    ok: walk_errors === 0 && PROBLEMS.every((p) => result.counts[p] === 0),
    mode: result.mode.kind,
    hash: result.hash,
    source: { files: result.source.files, bytes: result.source.bytes },
    replica: { files: result.replica.files, bytes: result.replica.bytes },
    equal: result.equal,
    counts: result.counts,
    walk_errors,
    duration_ms: result.duration_ms,
  };
}

/** Write the record on the replica host, atomically (a torn record would read as no record). */
export async function saveRecord(conn: Connector, record: ImageRecord): Promise<void> {
  const path = shq(recordPath(record.name));
  const r = await conn.run(`mkdir -p ${shq(IMAGE_RECORD_DIR)} && cat > ${path}.tmp && mv ${path}.tmp ${path}`, { stdin: JSON.stringify(record) + '\n' });
  if (r.code !== 0) throw new Error(`${conn.host}: could not record the comparison in ${recordPath(record.name)} (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Pure: a record file's text, or null when absent or unusable. */
export function parseRecord(text: string | null): ImageRecord | null {
  if (!text?.trim()) return null;
  try {
    const r = JSON.parse(text);
    return typeof r.at === 'string' && typeof r.ok === 'boolean' && r.counts ? (r as ImageRecord) : null;
  } catch {
    return null;
  }
}

/** Read the record of a pair from its replica host; null when it was never compared. */
export async function readRecord(conn: Connector, name: string): Promise<ImageRecord | null> {
  const path = shq(recordPath(name));
  const r = await conn.run(`if [ -f ${path} ]; then cat ${path}; fi`);
  if (r.code !== 0) throw new Error(`${conn.host}: could not read ${recordPath(name)} (exit ${r.code}): ${r.stderr.trim()}`);
  return parseRecord(r.stdout);
}
