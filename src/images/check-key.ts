// The routine check's host-to-host key (pure): one ed25519 key a pair, made on the replica's host (its private half
// never leaves it), the source's host key pinned beside it from the inventory's known_hosts, and on the source an
// authorized_keys line that lets that key run one thing: the pair's scanner entry point, its tree fixed by apply.
import { isIP } from 'node:net';
import { HOST_PATHS } from '../core/host-paths.js';
import { shq, shqAlways } from '../core/quote.js';
import type { ImagePair } from '../inventory/types.js';
import { CHECK_UNIT } from './check-plan.js';
import { hostScript, type SshTarget } from './repair-script.js';
import { scanScript } from './script.js';

/** Where the replica's host keeps the check keys (root's only, 0700). */
export const KEY_DIR = HOST_PATHS.imagesKeys;

/** A pair's key files on the replica's host, and its scanner entry point on the source's (by the job's unit name). */
export function checkKeyPaths(unit: string) {
  return {
    key: `${KEY_DIR}/${unit}`,
    pub: `${KEY_DIR}/${unit}.pub`,
    knownHosts: `${KEY_DIR}/${unit}.known_hosts`,
    entry: `${HOST_PATHS.sbin}/ironclad-images-source-${unit.slice(CHECK_UNIT.length)}`,
  };
}

/** The units whose key files (replica side) or entry points (source side) a host has, from the paths of its files. */
export function keyUnitsOf(paths: string[]): { keys: string[]; entries: string[] } {
  const keys = paths.flatMap((p) => /^\/var\/lib\/ironclad\/images\/keys\/(ironclad-images-check-[a-z0-9_-]+?)(?:\.pub|\.known_hosts)?$/.exec(p)?.[1] ?? []);
  const entries = paths.flatMap((p) => /^\/usr\/local\/sbin\/ironclad-images-source-([a-z0-9_-]+)$/.exec(p)?.[1] ?? []).map((s) => `${CHECK_UNIT}${s}`);
  return { keys: [...new Set(keys)].sort(), entries: [...new Set(entries)].sort() };
}

/**
 * A public key as the replica's host proposes it (untrusted), made canonical: `ssh-ed25519 BASE64`, the base64
 * decoding to exactly the ed25519 key blob (type string, 32-byte key) and written anew; anything else is null. So a
 * line break, a second key, options or quotes cannot ride along into the source's authorized_keys.
 */
export function parsePublicKey(text: string): string | null {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]{68})(?: [^\n]*)?\n?$/.exec(text);
  if (!m) return null;
  const blob = Buffer.from(m[1], 'base64');
  const type = Buffer.from('ssh-ed25519');
  if (blob.length !== 4 + type.length + 4 + 32 || blob.readUInt32BE(0) !== type.length || !blob.subarray(4, 4 + type.length).equals(type) || blob.readUInt32BE(4 + type.length) !== 32) return null;
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

/** The address a from= option can hold: an IP literal from the inventory, else none (sshd matches names only with UseDNS). */
export function fromAddress(address: string): string | undefined {
  return isIP(address) ? address : undefined;
}

/** The source's authorized_keys line of a pair's key: no shell, pty, forwarding or agent; only the entry point runs. */
export function authorizedLine(args: { unit: string; publicKey: string; from?: string }): string {
  const key = parsePublicKey(args.publicKey);
  if (!key) throw new Error(`not an ed25519 public key for ${args.unit}`);
  if (!/^ironclad-images-check-[a-z0-9_-]+$/.test(args.unit)) throw new Error(`bad check unit ${args.unit}`);
  if (args.from !== undefined && !isIP(args.from)) throw new Error(`from= takes an IP address, not ${args.from}`);
  const from = args.from ? `from="${args.from}",` : '';
  return `restrict,${from}command="${checkKeyPaths(args.unit).entry}" ${key} ${args.unit}`;
}

/** The marker of ironclad's check lines in an authorized_keys file: the key's comment is its unit. */
export const AUTHORIZED_MARK = / ironclad-images-check-[a-z0-9_-]+$/;

/** The unit an authorized_keys line of ours belongs to, and its key (null for a line that is not ours). */
export function ourLine(line: string): { unit: string; key: string | null } | null {
  const m = /^restrict,\S*command="[^"]*" (ssh-ed25519 \S+) (ironclad-images-check-[a-z0-9_-]+)$/.exec(line.trim());
  if (m) return { unit: m[2], key: parsePublicKey(m[1]) };
  const unit = AUTHORIZED_MARK.exec(line.trim())?.[0].trim();
  return unit ? { unit, key: null } : null;
}

/** The job's `source_call` function: the source's entry point over SSH with the pair's key, its host key pinned (or,
 *  for a pair on one host, the same entry point run here). Its words are the entry point's (check-source.sh). */
export function sourceCallFunction(unit: string, source: SshTarget | null, connectTimeoutS = 10): string {
  if (!source) return 'source_call() { ROOT=$SOURCE_ROOT UNIT=$UNIT SCAN=$SCAN sh -c "$SOURCE_SIDE" ironclad-images-source "$@"; }';
  const p = checkKeyPaths(unit);
  const opts = ['-n', `-i ${shq(p.key)}`, '-o IdentitiesOnly=yes', '-o BatchMode=yes', '-o StrictHostKeyChecking=yes', `-o UserKnownHostsFile=${shq(p.knownHosts)}`, '-o GlobalKnownHostsFile=/dev/null', `-o ConnectTimeout=${connectTimeoutS}`, `-p ${source.port}`];
  return `source_call() { ssh ${opts.join(' ')} -- ${shq(`${source.user}@${source.address}`)} "$*"; }`;
}

/** The entry point installed on the source: the pair's tree, unit and the scanner fixed, then check-source.sh. */
export function renderSourceEntry(pair: ImagePair, unit: string): string {
  return [
    '#!/bin/sh',
    '# shellcheck disable=SC2016,SC1003 # the scanner below is a value in single quotes, expanded where it runs',
    `# ironclad: the source's side of the routine image check of ${pair.name}, rendered by \`ironclad apply\`; the forced`,
    `# command of ${pair.replica.host}'s check key. Do not edit: change the inventory.`,
    `ROOT=${shqAlways(pair.source.path)}`,
    `UNIT=${shqAlways(unit)}`,
    `SCAN=${shqAlways(scanScript())}`,
    `READ=${shqAlways(hostScript('read.sh'))}`,
    hostScript('check-source.sh'),
  ].join('\n');
}

/** The command (stdin: the wanted lines of ours) that rewrites `user`'s authorized_keys: every line not ours kept as it
 *  is, ours replaced; the file's owner and mode kept (a new one 0600), written beside and renamed into place. */
export function authorizedKeysScript(user: string): string {
  return `u=${shq(user)}
h=$(getent passwd "$u" | cut -d: -f6) && [ -n "$h" ] || { echo "no home directory for $u" >&2; exit 1; }
d=$h/.ssh f=$h/.ssh/authorized_keys
[ -d "$d" ] || install -d -m 700 -o "$u" -g "$(id -g "$u")" "$d"
t=$(mktemp "$d/.authorized_keys.ironclad.XXXXXX")
{ if [ -f "$f" ]; then grep -v -E ${shq(AUTHORIZED_MARK.source)} "$f" || [ $? -eq 1 ]; fi; cat; } >"$t" || { rm -f "$t"; exit 1; }
if [ -f "$f" ]; then chown --reference="$f" "$t" && chmod --reference="$f" "$t"; else chown "$u:$(id -g "$u")" "$t" && chmod 600 "$t"; fi || { rm -f "$t"; exit 1; }
mv -f "$t" "$f"`;
}

/** The command making a pair's key on the replica's host (any old half replaced): ssh-keygen there, nothing printed. */
export function makeKeyScript(unit: string, replicaHost: string): string {
  const p = checkKeyPaths(unit);
  return `install -d -m 700 ${KEY_DIR} && chmod 700 ${KEY_DIR} && rm -f ${shq(p.key)} ${shq(p.pub)} && ssh-keygen -q -t ed25519 -N '' -C ${shq(`${unit}@${replicaHost}`)} -f ${shq(p.key)} >/dev/null </dev/null`;
}
