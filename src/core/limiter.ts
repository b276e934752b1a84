// Bounded concurrency, the one mechanism for it: host fan-out, an SSH connection's channels, a restore's groups.

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
