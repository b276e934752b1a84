// Bounded concurrency, the one mechanism for it: host fan-out, an SSH connection's channels, a restore's groups.

/** How many hosts a command works on at once unless it says otherwise: each host does its work on its own CPU, so the
 *  controller mostly waits (about 1 MiB and a few ms of its CPU per open connection); 8 made an estate of 50 wait
 *  seven rounds of the slowest host's latency. */
export const HOSTS_AT_ONCE = 32;

/** At most `n` of the functions given run at once (the others wait their turn, in the order they came). */
export function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
