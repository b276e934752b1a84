// The changes that give each checked pair its host-to-host key (pure): on the replica's host the key and the source's
// pinned host key; on the source's host the scanner entry point and the authorized_keys line; each removed once the
// inventory no longer asks. A key the replica's host has not made yet is waited for (made by this apply's first round).
import { shq } from '../core/quote.js';
import type { Host, ImagePair } from '../inventory/types.js';
import { fileChange, lineDiff } from '../operations/diff.js';
import type { Change } from '../operations/types.js';
import type { CheckJobFiles } from './check-job.js';
import { authorizedKeysScript, authorizedLine, checkKeyPaths, fromAddress, keyUnitsOf, makeKeyScript, ourLine, parsePublicKey, renderSourceEntry } from './check-key.js';
import { checkUnit } from './check-plan.js';
import type { Location } from './locations.js';

/** A checked pair whose trees are on two hosts: its job reaches the source with a key of its own. */
export interface KeyedPair {
  pair: ImagePair;
  unit: string;
  replica: Host;
  source: Host;
}

/** The checked pairs that need a key (a pair on one host reads its source without SSH). */
export function keyedPairs(inv: { images: ImagePair[]; hosts: Host[] }): KeyedPair[] {
  return inv.images.flatMap((pair) => {
    const replica = inv.hosts.find((h) => h.name === pair.replica.host);
    const source = inv.hosts.find((h) => h.name === pair.source.host);
    if (!pair.check || !replica || !source || replica.name === source.name) return [];
    return [{ pair, unit: checkUnit(pair.name), replica, source }];
  });
}

/** What a host has of the keys besides its job files: ironclad's lines in its ssh user's authorized_keys. */
export interface KeyFiles extends CheckJobFiles {
  authorized: string[];
}

/** On the replica's host: each pair's key (made there when missing or not a whole ed25519 key) and the source's host
 *  key (`knownHosts`: the inventory's verified lines for it); the keys of pairs no longer checked removed. */
export function replicaKeySteps(args: { host: string; pairs: KeyedPair[]; have: KeyFiles; knownHosts: (source: Host) => string }): Change[] {
  const mine = args.pairs.filter((k) => k.replica.name === args.host);
  const out: (Change | undefined)[] = [];
  for (const k of mine) {
    const p = checkKeyPaths(k.unit);
    if (!args.have.files.has(p.key) || !parsePublicKey(args.have.files.get(p.pub) ?? ''))
      out.push({ operation: 'images', description: `make the SSH key of the routine image check of ${k.pair.name} on ${args.host} (${p.key}, ed25519; its private half never leaves the host)`, commands: [{ kind: 'sh', script: makeKeyScript(k.unit, args.host) }] });
    out.push(fileChange('images', p.knownHosts, args.have.files.get(p.knownHosts), args.knownHosts(k.source), '644', `${k.source.name}'s host key for its check (from the inventory's known_hosts)`));
  }
  const wanted = new Set(mine.map((k) => k.unit));
  for (const unit of keyUnitsOf([...args.have.files.keys()]).keys.filter((u) => !wanted.has(u))) {
    const p = checkKeyPaths(unit);
    out.push({ operation: 'images', description: `remove the SSH key of a routine image check the inventory no longer asks for (${p.key})`, commands: [{ kind: 'sh', script: `rm -f ${[p.key, p.pub, p.knownHosts].map(shq).join(' ')}` }] });
  }
  return out.filter((c): c is Change => c !== undefined);
}

/**
 * On the source's host: each pair's entry point, and its ssh user's authorized_keys holding exactly ironclad's lines
 * for the pairs checked from here (`keyOf`: the replica's public key as known now, null when not made yet: the line
 * already there is kept meanwhile, and the wait is named). Other lines of the file are never touched.
 */
export function sourceKeySteps(args: { host: Host; pairs: KeyedPair[]; have: KeyFiles; keyOf: (k: KeyedPair) => string | null }): Change[] {
  const mine = args.pairs.filter((k) => k.source.name === args.host.name);
  const out: (Change | undefined)[] = [];
  for (const k of mine) out.push(fileChange('images', checkKeyPaths(k.unit).entry, args.have.files.get(checkKeyPaths(k.unit).entry), renderSourceEntry(k.pair, k.unit), '755', `the scanner entry point of ${k.pair.name}'s check, the only command its key runs`));
  const have = args.have.authorized.map((l) => l.trim()).filter(Boolean);
  const waiting: string[] = [];
  const lines = mine.flatMap((k) => {
    const key = args.keyOf(k);
    if (key) return [authorizedLine({ unit: k.unit, publicKey: key, from: fromAddress(k.replica.address) })];
    waiting.push(k.replica.name);
    return have.filter((l) => ourLine(l)?.unit === k.unit);
  });
  const file = `~${args.host.ssh.user}/.ssh/authorized_keys`;
  const sorted = (ls: string[]) => [...ls].sort().join('\n');
  if (sorted(lines) !== sorted(have)) {
    const units = mine.filter((k) => lines.some((l) => l.endsWith(` ${k.unit}`))).map((k) => `${k.replica.name} (${k.pair.name})`);
    out.push({
      operation: 'images',
      description: `let ${units.length ? units.join(', ') : 'no replica host'} run only the check's scanner as ${args.host.ssh.user} (${file}: restrict, a forced command, from its address; ironclad's lines only)`,
      diff: lineDiff(have.length ? have.join('\n') + '\n' : null, lines.length ? lines.join('\n') + '\n' : '', `${file} (ironclad's lines)`),
      commands: [{ kind: 'sh', script: authorizedKeysScript(args.host.ssh.user), stdin: lines.length ? lines.join('\n') + '\n' : '' }],
    });
  }
  const wanted = new Set(mine.map((k) => k.unit));
  for (const unit of keyUnitsOf([...args.have.files.keys()]).entries.filter((u) => !wanted.has(u)))
    out.push({ operation: 'images', description: `remove the scanner entry point of a check the inventory no longer asks for (${checkKeyPaths(unit).entry})`, commands: [{ kind: 'sh', script: `rm -f ${shq(checkKeyPaths(unit).entry)}` }] });
  if (waiting.length)
    out.push({ operation: 'deferred', description: `waits for the check key of ${[...new Set(waiting)].join(', ')} (made by this apply, or on a host not contacted now: apply again once it is reachable)`, commands: [] });
  return out.filter((c): c is Change => c !== undefined);
}

/** The check key a pulled repair between these two trees may use: that of the checked pair with exactly these trees
 *  on two hosts (its entry point on the source reads that tree only), else none. */
export function pullIdentity(inv: { images: ImagePair[]; hosts: Host[] }, source: Location, replica: Location): { key: string; knownHosts: string } | undefined {
  if (source.kind !== 'host' || replica.kind !== 'host') return undefined;
  const k = keyedPairs(inv).find(({ pair: p }) => p.source.host === source.host && p.source.path === source.path && p.replica.host === replica.host && p.replica.path === replica.path);
  if (!k) return undefined;
  const p = checkKeyPaths(k.unit);
  return { key: p.key, knownHosts: p.knownHosts };
}
