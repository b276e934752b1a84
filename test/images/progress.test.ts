import { PassThrough } from 'node:stream';
import t from 'tap';
import { describeProgress, parseProgress, watchProgress, type Sample } from '../../src/images/progress.js';

t.test('parseProgress: a table of progress lines', async (t) => {
  const cases: [string, object][] = [
    ['', { phase: 'starting' }],
    ['walking 0 0 0 0\n', { phase: 'walking' }],
    ['hashing 10 100 1000 20000\n', { phase: 'hashing', files: 10, filesTotal: 100, bytes: 1000, bytesTotal: 20000 }],
    ['hashing 10 x', { phase: 'starting' }],
    ['writing 1 1 1 1', { phase: 'writing' }],
    ['copying 2 7 4096 65536\n', { phase: 'copying', files: 2, filesTotal: 7, bytes: 4096, bytesTotal: 65536 }],
    ['garbage', { phase: 'starting' }],
  ];
  for (const [text, want] of cases) t.same(parseProgress(text), want, JSON.stringify(text));
});

t.test('describeProgress: files, bytes, rate and ETA', async (t) => {
  const at = (ms: number, bytes: number): Sample => ({ at: ms, state: { phase: 'hashing', files: bytes / 1024, filesTotal: 12000, bytes, bytesTotal: 12000 * 1024 } });
  t.equal(describeProgress('source', undefined, { at: 0, state: { phase: 'walking' } }), 'source: walking');
  t.equal(describeProgress('source', undefined, at(0, 0)), 'source: 0/12,000 files 0 B/11.7 MiB');
  t.equal(describeProgress('replica', at(0, 0), at(1000, 1024 * 1000)), 'replica: 1,000/12,000 files 1000.0 KiB/11.7 MiB 1000.0 KiB/s ETA 11s');
  t.match(describeProgress('r', at(0, 0), at(1000, 1024)), /ETA 3h19m$/);
  const copy = (ms: number, bytes: number): Sample => ({ at: ms, state: { phase: 'copying', files: 1, filesTotal: 3, bytes, bytesTotal: 4 * 2 ** 30 } });
  t.equal(describeProgress('copy', copy(0, 0), copy(2000, 200 << 20)), 'copy: 1/3 files 200.0 MiB/4.0 GiB 100.0 MiB/s ETA 39s', 'a long copy: bytes, rate, time left');
  t.equal(describeProgress('copy', at(0, 0), copy(2000, 200 << 20)), 'copy: 1/3 files 200.0 MiB/4.0 GiB', 'no rate across phases');
});

t.test('watchProgress writes one overwritten line and clears it', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const states = ['walking 0 0 0 0', 'hashing 1 2 10 20'];
  const w = watchProgress({ labels: ['source', 'replica'], read: async (i) => states[i], out, intervalMs: 5 });
  await new Promise((r) => setTimeout(r, 40));
  w.stop();
  w.stop();
  t.match(text, /\r\x1b\[Ksource: walking \| replica: 1\/2 files 10 B\/20 B/);
  t.ok(text.endsWith('\r\x1b[K'), 'the line is cleared at the end');
});
