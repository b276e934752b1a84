// The repair's host scripts as ironclad sends them: repair.sh where the replica lives, read.sh where the source does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_PATHS } from '../core/host-paths.js';
import { packageRoot } from '../core/paths.js';
import { shq } from '../core/quote.js';
import type { HashAlgo } from './types.js';

const texts = new Map<string, string>();

/** A host script of src/images, read once (from src/ also when running from dist/). */
export function hostScript(name: 'repair.sh' | 'read.sh' | 'check-job.sh' | 'check-source.sh' | 'check-merge.awk' | 'check-coverage.awk'): string {
  let text = texts.get(name);
  if (text === undefined) texts.set(name, (text = readFileSync(join(packageRoot(), 'src', 'images', name), 'utf8')));
  return text;
}

/** One call of repair.sh on the replica's tree. */
export type RepairCall =
  | { op: 'part'; root: string; algo: HashAlgo }
  | { op: 'apply'; root: string; algo: HashAlgo; quarantine: string; fetch: string; progress?: string } // progress: a bare file name
  | { op: 'receive'; root: string; algo: HashAlgo; quarantine: string; task: string; offset: number }
  | { op: 'prune'; root: string; days: number };

/** The shell text that runs repair.sh with `sh`, arguments as key=value words. */
export function repairCommand(call: RepairCall, script = hostScript('repair.sh')): string {
  const args = Object.entries(call)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => shq(`${k}=${v}`));
  return ['sh', '-c', shq(script), 'ironclad-repair', ...args].join(' ');
}

/**
 * Shell text that sets `rundir`: where repair.sh keeps a progress file on its host, a directory of the user's own,
 * 0700 (root: /var/lib/ironclad/images/run), never one others write (/tmp). The same choice as repair.sh's.
 */
const RUN_DIR = `if [ "$(id -u)" = 0 ]; then rundir=${HOST_PATHS.imagesRun}; else ` + 'rundir=${XDG_RUNTIME_DIR:-${HOME:-/nonexistent}/.cache}/ironclad-run; fi';

/** Shell text printing repair.sh's progress file `name` (nothing while there is none). */
export function progressReadCommand(name: string): string {
  return `${RUN_DIR}; cat -- "$rundir"/${shq(name)} 2>/dev/null || true`;
}

/** Shell text removing repair.sh's progress file `name` (and its temp name), should the script not have. */
export function progressRemoveCommand(name: string): string {
  return `${RUN_DIR}; rm -f -- "$rundir"/${shq(name)} "$rundir"/${shq(`${name}.tmp`)}`;
}

/** Shell text printing a source file's bytes from offset "$1" (path on stdin): read.sh on the tree at `root`. */
export function readCommand(root: string, rest: string[] = ['"$1"']): string {
  return ['sh', '-c', shq(hostScript('read.sh')), 'ironclad-read', shq(root), ...rest].join(' ');
}

/** Shell text printing the mode (stat %a) of each source file named on stdin (escaped paths, a line each): read.sh. */
export function modesCommand(sourceRoot: string): string {
  return readCommand(sourceRoot, ['modes']);
}

/**
 * How the replica's host reaches the source's host for a pull: root's own key and known_hosts, or (`identity`) a
 * pair's check key, whose only command on the source is the pair's entry point (check-source.sh: op=read reads the
 * pair's tree, fixed there), with the source's host key pinned beside it.
 */
export interface SshTarget {
  user: string;
  address: string;
  port: number;
  identity?: { key: string; knownHosts: string };
}

/** ssh options for a host-to-host pull: no prompt, host key verified, a bounded wait for the connection. */
export function sshArgs(target: SshTarget, connectTimeoutS = 10): string {
  const id = target.identity;
  const keyed = id ? ` -i ${shq(id.key)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${shq(id.knownHosts)} -o GlobalKnownHostsFile=/dev/null` : '';
  return `ssh${keyed} -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=${connectTimeoutS} -p ${target.port} -- ${shq(`${target.user}@${target.address}`)}`;
}

/** The fetch command (repair.sh's fetch=): read the file where the source is, here or from the replica's host (with
 *  a pair's key: the words of its entry point, which reads the pair's tree only; the path on stdin as for read.sh). */
export function fetchCommand(sourceRoot: string, pull?: SshTarget): string {
  if (pull?.identity) return `exec ${sshArgs(pull)} "op=read offset=$1"`;
  return pull ? `exec ${sshArgs(pull)} ${shq(readCommand(sourceRoot, []))} "$1"` : readCommand(sourceRoot);
}

/** A piece of a source file as base64, for a copy streamed through this machine (offset 0-based). */
export function pieceCommand(sourceRoot: string, offset: number, count: number): string {
  return readCommand(sourceRoot, [String(offset + 1), String(count), 'base64']);
}
