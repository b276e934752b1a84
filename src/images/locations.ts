// Where each side of a comparison lives: an `images:` pair of the inventory, or SRC/DST as typed.
import { resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { Inventory } from '../inventory/types.js';

/** A tree on this machine, or on an inventory host (scanned there, over SSH). */
export type Location = { kind: 'local'; path: string } | { kind: 'host'; host: string; path: string };

/**
 * Parse SRC or DST: `HOST:PATH` when the part before the first colon is a plain host name (no slash),
 * else a local path (write `./a:b` for a local name holding a colon). Local paths are made absolute.
 */
export function parseLocation(text: string, cwd = process.cwd()): Location {
  if (!text) throw new UserError('an empty path was given', 'give a local path or HOST:PATH');
  const m = /^([A-Za-z0-9_.-]+):(.*)$/.exec(text);
  if (m && !text.startsWith('./')) {
    if (!m[2]) throw new UserError(`'${text}' names no path on ${m[1]}`, `e.g. ${m[1]}:/srv/app/uploads`);
    return { kind: 'host', host: m[1], path: m[2] };
  }
  return { kind: 'local', path: resolve(cwd, text) };
}

/** How a location is shown: HOST:PATH or the local path. */
export function describeLocation(loc: Location): string {
  return loc.kind === 'host' ? `${loc.host}:${loc.path}` : loc.path;
}

/** The source and replica of an inventory `images:` pair; an unknown name is a UserError naming the known ones. */
export function pairLocations(inv: Inventory, name: string): { source: Location; replica: Location } {
  const pair = inv.images.find((p) => p.name === name);
  if (!pair) {
    const known = inv.images.map((p) => p.name);
    throw new UserError(`no images pair '${name}' in ${inv.file}`, known.length ? `known pairs: ${known.join(', ')}` : 'add one under `images:` in the inventory, or give SRC DST');
  }
  return { source: { kind: 'host', ...pair.source }, replica: { kind: 'host', ...pair.replica } };
}

/** The words after `compare`: one pair NAME, or SRC DST. */
export type CompareTarget = { kind: 'pair'; name: string } | { kind: 'paths'; source: Location; replica: Location };

/** Parse `compare NAME` / `compare SRC DST`; anything else is a usage error. */
export function parseTarget(words: string[], cwd?: string): CompareTarget {
  if (words.length === 1) return { kind: 'pair', name: words[0] };
  if (words.length === 2) return { kind: 'paths', source: parseLocation(words[0], cwd), replica: parseLocation(words[1], cwd) };
  throw new UserError(`usage: ironclad images compare NAME | SRC DST${words.length ? ` (got ${words.length} arguments)` : ''}`, 'SRC and DST are local paths or HOST:PATH of the inventory');
}

/** True when the target names an inventory host (and so needs the inventory). */
export function needsInventory(target: CompareTarget): boolean {
  return target.kind === 'pair' || target.source.kind === 'host' || target.replica.kind === 'host';
}
