import t from 'tap';
import { fanOut } from '../../src/executor/fanout.js';

t.test('a failing host is reported and the others go on, in input order', async (t) => {
  const hosts = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
  const out = await fanOut(hosts, async (h) => {
    if (h.name === 'b') throw new Error('b is down');
    await new Promise((r) => setTimeout(r, h.name === 'a' ? 30 : 1));
    return h.name.toUpperCase();
  }, 2);
  t.same(out.map((o) => [o.host, o.ok]), [['a', true], ['b', false], ['c', true], ['d', true]]);
  t.equal(out[1].ok === false && out[1].error.message, 'b is down');
});

t.test('never more than the bound at once', async (t) => {
  let running = 0;
  let peak = 0;
  await fanOut(Array.from({ length: 10 }, (_, i) => ({ name: String(i) })), async () => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
  }, 3);
  t.equal(peak, 3);
});
