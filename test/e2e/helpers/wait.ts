// Waiting in end-to-end tests: for a condition the test polls (a status, a row), and for a systemd timer's service to
// run once more on a lab host whose pid 1 is systemd. The bounds are the callers': each says how long it waits.
import { setTimeout as sleep } from 'node:timers/promises';

/** Poll `fn` every second until it gives a value: the value and the seconds it took; after `seconds`, an Error naming
 *  `what` (with `diag()`'s text, read only then, to say why). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  seconds: number,
  diag: () => Promise<string> = async () => '',
): Promise<{ value: T; seconds: number }> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return { value: v, seconds: (Date.now() - start) / 1000 };
    if (Date.now() - start > seconds * 1000) {
      const why = await diag();
      throw new Error(`${what}: not within ${seconds} s${why ? `\n${why}` : ''}`);
    }
    await sleep(1000);
  }
}

/**
 * Shell text for the host: wait until `unit`.service is not running (at most `busySeconds`: a run that began before
 * the test ends first), then until it has run once more from start to end (at most `seconds`), and print its
 * `properties` (`systemctl show -p ...`); exit 1 with the timer's list entry when it did not run.
 */
export function firesAgainScript(unit: string, opts: { busySeconds: number; seconds: number; properties: string[] }): string {
  const props = opts.properties.map((p) => `-p ${p}`).join(' ');
  return [
    `u=${unit}.service`,
    `i=0; while [ "$i" -lt ${opts.busySeconds} ]; do case "$(systemctl is-active "$u")" in active | activating | deactivating) sleep 1; i=$((i + 1)) ;; *) break ;; esac; done`,
    'before=$(systemctl show -P ExecMainStartTimestampMonotonic "$u")',
    `for i in $(seq 1 ${opts.seconds}); do`,
    '  s=$(systemctl show -P ExecMainStartTimestampMonotonic "$u"); e=$(systemctl show -P ExecMainExitTimestampMonotonic "$u")',
    `  if [ "$s" != "$before" ] && [ -n "$e" ] && [ "$e" -gt "$s" ]; then systemctl show ${props} "$u"; exit 0; fi`,
    '  sleep 1',
    `done; echo "$u did not run in ${opts.seconds} s"; systemctl list-timers --all ${unit}.timer; exit 1`,
  ].join('\n');
}
