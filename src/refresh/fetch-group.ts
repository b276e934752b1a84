// The copy's fetch in a process group of its own on the target, so that the run's discard (after a failure, or Ctrl-C
// during the copy) stops every process of it (the fetch, its ssh to the store, age, tar) before it removes the copy:
// nothing is written after the discard. A fetch of this process that reaches the target only after its discard does
// not start at all: the discard's mark stays until that fetch's command has ended.
import { hostname } from 'node:os';
import { shq } from '../core/quote.js';

/** The files beside a copy's folder: the fetch's process group, and the mark a discard leaves (pure). */
export const fetchFiles = (dir: string) => ({ group: `${dir}.fetch-group`, discarded: `${dir}.discarded` });

/** This ironclad process, as the copy and the discard name it on the target (a resumed run is another process). */
export const runToken = () => `${hostname()} pid ${process.pid}`;

/** The fetches this process has under way, by copy folder: the discard lifts its mark once the one it stopped ended. */
const underWay = new Map<string, Promise<unknown>>();

/** Track a fetch's command while it runs (its promise, as given). */
export function trackFetch<T>(dir: string, command: Promise<T>): Promise<T> {
  const tracked = command.finally(() => underWay.get(dir) === tracked && underWay.delete(dir));
  underWay.set(dir, tracked);
  return tracked;
}

/** The fetch of `dir` this process has under way, if any (never rejects). */
export const fetchUnderWay = (dir: string): Promise<unknown> | undefined => underWay.get(dir)?.catch(() => undefined);

/** The name the group's leader runs under, by which the discard knows it (never a process a reused pid now names). */
const LEADER = 'ironclad-fetch-group';

/** Shell text that runs `script` in a new session and process group, its leader's pid in the group file while it runs
 *  (pure). It refuses to start (exit 75) when this process's discard came first; a mark an earlier process left is
 *  removed. Exits with the script's code (143 when a discard stopped it). */
export function inOwnGroup(script: string, dir: string, token: string): string {
  const { group, discarded } = fetchFiles(dir);
  const leader = `echo $$ > "$1" && if [ -e "$2" ]; then echo 'ironclad-fetch: the run discarded this copy before it started' >&2; exit 75; fi; sh -c "$3"`;
  return [
    `mkdir -p ${shq(dir.slice(0, dir.lastIndexOf('/')))} && chmod 700 ${shq(dir.slice(0, dir.lastIndexOf('/')))} || exit 1`,
    `if [ -e ${shq(discarded)} ] && [ "$(cat ${shq(discarded)})" != ${shq(token)} ]; then rm -f ${shq(discarded)}; fi`,
    '# shellcheck disable=SC2016  # the leader expands its own $$ and arguments',
    `setsid -w sh -c ${shq(leader)} ${LEADER} ${shq(group)} ${shq(discarded)} ${shq(script)} &`,
    'wait $!; rc=$?',
    `rm -f ${shq(group)}`,
    'exit $rc',
  ].join('\n');
}

/** Shell text for the discard (pure): mark the copy discarded by this process, stop the fetch's whole process group if
 *  one runs (TERM, then KILL after 10 s) and wait until it is gone, then remove the copy's folder. The mark stays (for a
 *  fetch command still on its way) until liftMarkScript. */
export function stopCopyScript(dir: string, token: string): string {
  const { group, discarded } = fetchFiles(dir);
  const alive = `kill -0 -"$pg" 2> /dev/null`;
  return [
    `mkdir -p ${shq(dir.slice(0, dir.lastIndexOf('/')))} && printf '%s\\n' ${shq(token)} > ${shq(discarded)} || exit 1`,
    `pg=$(cat ${shq(group)} 2> /dev/null || true)`,
    // only the group whose leader is ironclad's fetch of this copy (a pid in a stale file may name another process now)
    `if [ -n "$pg" ] && [ "$pg" -gt 1 ] 2> /dev/null && tr '\\0' '\\n' < "/proc/$pg/cmdline" 2> /dev/null | grep -qxF ${shq(group)}; then`,
    `  kill -TERM -"$pg" 2> /dev/null; i=0`,
    `  while ${alive} && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done`,
    `  kill -KILL -"$pg" 2> /dev/null; i=0`,
    `  while ${alive} && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done`,
    'fi',
    `rm -rf ${shq(dir)}`,
  ].join('\n');
}

/** Shell text that lifts the discard's mark (pure): once this process has no fetch of the copy under way. */
export const liftMarkScript = (dir: string) => `rm -f ${shq(fetchFiles(dir).discarded)}`;
