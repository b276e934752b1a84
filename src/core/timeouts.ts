// How long ironclad waits for a host, in one place: `ironclad --help` states these, the connector and steps use them.

/** Connecting (TCP, SSH handshake, authentication), unless the inventory sets ssh.connect_timeout (seconds). */
export const CONNECT_TIMEOUT_S = 10;

/** One command, unless the inventory sets ssh.command_timeout (seconds); a timed-out command exits 124. */
export const COMMAND_TIMEOUT_S = 3600;

/** The read-only facts script on one host. */
export const FACTS_TIMEOUT_MS = 120_000;

/** The instance census on one host. */
export const CENSUS_TIMEOUT_MS = 60_000;

/** An open connection that stops answering (the host went away mid-run) is dropped once countMax keepalives sent
 *  intervalMs apart went unanswered (at the next one: within (countMax + 1) x intervalMs); its running commands end
 *  with exit 255. */
export const KEEPALIVE = { intervalMs: 10_000, countMax: 3 } as const;

/** The longest a lost connection can hold a command, in seconds. */
export const LOST_CONNECTION_S = ((KEEPALIVE.countMax + 1) * KEEPALIVE.intervalMs) / 1000;

/** The timeouts as `ironclad --help` states them. */
export function timeoutsText(): string {
  return [
    `timeouts per host: connecting ssh.connect_timeout (default ${CONNECT_TIMEOUT_S} s); each command ssh.command_timeout`,
    `  (default ${COMMAND_TIMEOUT_S} s; facts ${FACTS_TIMEOUT_MS / 1000} s, census ${CENSUS_TIMEOUT_MS / 1000} s); a connection that stops answering`,
    `  is dropped within ${LOST_CONNECTION_S} s (${KEEPALIVE.countMax} keepalives ${KEEPALIVE.intervalMs / 1000} s apart unanswered)`,
  ].join('\n');
}
