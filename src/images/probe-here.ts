// The probe of a tree on this machine, done in this process: what scan.sh's op=probe prints (where the cache files
// go, which hashes this machine computes), without starting a shell. A local compare then starts its scans one round
// of processes sooner, which shows on a small tree. test/images/probe-here.test.ts holds it to scan.sh's answer.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { HOST_PATHS } from '../core/host-paths.js';
import type { Probe } from './script.js';
import type { HashAlgo } from './types.js';

/** An executable of this name on PATH, as `command -v` finds it. */
function onPath(name: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      const p = join(dir || '.', name);
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** The cache directory scan.sh would choose (cachedir=, else $XDG_CACHE_HOME, ~/.cache, root's /var/lib one). */
export function cacheDirHere(cacheDir: string | undefined, env = process.env): string {
  if (cacheDir) return resolve(cacheDir);
  if (env.XDG_CACHE_HOME) return resolve(env.XDG_CACHE_HOME, 'ironclad/images');
  if (env.HOME) return resolve(env.HOME, '.cache/ironclad/images');
  if (process.getuid?.() === 0) return HOST_PATHS.imagesCache;
  throw new UserError('no HOME to keep the hash cache in', 'give --cache-dir DIR');
}

/** Probe a tree on this machine (undefined: no such directory): its resolved path names its cache files, as in scan.sh. */
export async function probeHere(root: string, cacheDir: string | undefined): Promise<Probe | undefined> {
  const abs = await realpath(root).catch(() => '');
  if (!abs || !statSync(abs).isDirectory()) return undefined;
  const key = createHash('sha256').update(`${abs}\n`).digest('hex').slice(0, 16);
  const algos: HashAlgo[] = [];
  if (onPath('openssl') || onPath('sha256sum')) algos.push('sha256');
  if (onPath('b3sum')) algos.push('blake3');
  if (onPath('xxhsum') && spawnSync('xxhsum', ['-H2'], { input: '', stdio: ['pipe', 'ignore', 'ignore'] }).status === 0) algos.push('xxh128');
  if (onPath('cksum')) algos.push('crc32');
  return { prefix: join(cacheDirHere(cacheDir), key), algos, jobs: availableParallelism() };
}
