import t from 'tap';
import { limiter } from '../../src/core/limiter.js';

t.test('never more than n at once; the waiting run in the order they came; a failure frees its slot', async (t) => {
  const slot = limiter(2);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) =>
      slot(async () => {
        started.push(i);
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        if (i === 1) throw new Error('one fails');
        return i;
      }),
    ),
  );
  t.equal(peak, 2);
  t.same(started, [0, 1, 2, 3, 4, 5]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
});
