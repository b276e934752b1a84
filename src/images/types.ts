// Shapes shared by the image comparison: manifest entries, comparison rows, hash choices and scan modes.

/**
 * A path exactly as the filesystem holds it: the raw bytes of the name, one JS char per byte (latin1).
 * Comparing two of them with `<` is byte order, the order `LC_ALL=C sort` gives on the hosts.
 */
export type BytePath = string;

/**
 * What is known of one file's content. `rotten`: hashed again with size, mtime and inode unchanged since an earlier
 * hash, the bytes now hash to `value` where they hashed to `expected` (bit rot, or a write that put the mtime back).
 */
export type Digest =
  | { kind: 'hashed'; value: string }
  | { kind: 'rotten'; value: string; expected: string }
  | { kind: 'unhashed' }
  | { kind: 'unreadable' };

/** One file of one side, as read from its manifest. */
export interface Entry {
  path: BytePath;
  size: number;
  mtime: string; // seconds since the epoch with a fraction, as find printed it
  digest: Digest;
}

type Pair = { path: BytePath; source: Entry; replica: Entry };

/** The verdict on one path: present on one side only, or on both and compared. */
export type Row =
  | { status: 'missing'; path: BytePath; source: Entry }
  | { status: 'extra'; path: BytePath; replica: Entry }
  | ({ status: 'size_mismatch' } & Pair)
  | ({ status: 'content_mismatch' } & Pair)
  | ({ status: 'unreadable' } & Pair)
  | { status: 'source_rot'; path: BytePath; source: Entry; replica?: Entry }
  | ({ status: 'equal'; verified: boolean } & Pair);

/** The name of a verdict. */
export type RowStatus = Row['status'];

/** The statuses that are discrepancies (exit 3), in report order. */
export const PROBLEMS = ['missing', 'extra', 'size_mismatch', 'content_mismatch', 'source_rot', 'unreadable'] as const;
/** A verdict that is a discrepancy. */
export type Problem = (typeof PROBLEMS)[number];

/** A hash the host script knows: sha256 (openssl or sha256sum), blake3 (b3sum), xxh128 (xxhsum), crc32 (cksum). */
export type HashAlgo = 'sha256' | 'blake3' | 'xxh128' | 'crc32';

/**
 * What the user asked for: `crypto` (the default) the fastest cryptographic hash both sides have (BLAKE3 where b3sum
 * is installed, else SHA-256); `sha256` or `blake3` exactly; `fast` the fastest of all (xxh128, crc32: not for rot
 * an adversary could hide, but any accident shows).
 */
export type HashChoice = 'crypto' | 'sha256' | 'blake3' | 'fast';

/** How much to hash: what the cache cannot vouch for, everything, or a deterministic sample (per seed) plus the cache. */
export type ScanMode =
  | { kind: 'cached' }
  | { kind: 'rehash' }
  | { kind: 'sample'; percent: number; seed: number }
  | { kind: 'slice'; slices: number; slice: number }; // slice K of S rehashed (by path), the rest as cached

/** What one side's scan did, as the host script reported it. */
export interface ScanStats {
  files: number;
  bytes: number;
  hashed: number;
  hashed_bytes: number;
  cached: number;
  unhashed: number;
  unreadable: number;
  rot_found?: number; // files whose rot this scan found (rot found earlier and still there is in the cache)
  walk_errors: number;
  tool: string;
}
