// The flags of `images compare`, checked: --rehash, --sample PERCENT [--seed N], --hash crypto|sha256|blake3|fast.
import { randomInt } from 'node:crypto';
import { UserError } from '../core/errors.js';
import type { HashChoice, ScanMode } from './types.js';

type Options = Record<string, string | boolean | undefined>;

/** How much to hash, from --rehash / --sample / --seed; a seed is drawn when none is given (and shown). */
export function parseMode(options: Options, drawSeed: () => number = () => randomInt(1, 2 ** 31 - 1)): ScanMode {
  const { rehash, sample, seed } = options;
  if (rehash && sample !== undefined) throw new UserError('--rehash and --sample exclude each other', '--rehash hashes everything; --sample rehashes a part');
  if (seed !== undefined && sample === undefined) throw new UserError('--seed goes with --sample', 'e.g. --sample 5 --seed 42');
  if (rehash) return { kind: 'rehash' };
  if (sample === undefined) return { kind: 'cached' };
  const percent = Number(sample);
  if (typeof sample !== 'string' || !(percent > 0 && percent <= 100))
    throw new UserError(`--sample must be a percentage above 0 and at most 100 (got '${sample}')`, 'e.g. --sample 5');
  if (percent * 100 < 1) throw new UserError(`--sample ${sample} is below the smallest step, 0.01`, 'e.g. --sample 0.5');
  const s = seed === undefined ? drawSeed() : Number(seed);
  if (!Number.isSafeInteger(s) || s < 0 || s >= 2 ** 31) throw new UserError(`--seed must be an integer from 0 to ${2 ** 31 - 1} (got '${seed}')`);
  return { kind: 'sample', percent, seed: s };
}

/** The hash asked for with --hash (crypto by default). */
export function parseHash(value: string | boolean | undefined): HashChoice {
  if (value === undefined) return 'crypto';
  if (value === 'crypto' || value === 'sha256' || value === 'blake3' || value === 'fast') return value;
  throw new UserError(
    `--hash must be crypto, sha256, blake3 or fast (got '${value}')`,
    'crypto (default): BLAKE3 when both hosts have b3sum, else SHA-256; fast: xxh128 when both hosts have xxhsum, else crc32 (cksum)',
  );
}
