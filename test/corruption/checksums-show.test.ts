// After pg_checksums, `SHOW data_checksums` goes through the one psql builder: database postgres in PGDATABASE, the
// statement on stdin, one field a line (the action reads the first line).
import t from 'tap';
import { showChecksums } from '../../src/corruption/checksums.js';
import { runWith, standIns } from '../fixtures/psql-standin.js';

t.test('SHOW data_checksums as postgres on the cluster port, its answer the first line', async (t) => {
  const s = standIns();
  const out = runWith(s, `${showChecksums(5433)}; echo 1`, { env: { STANDIN_REPLY: 'echo on' } });
  t.equal(out.split('\n')[0], 'on');
  t.same(s.runs(), [{ program: 'psql', database: 'postgres', pgport: '', stdin: 'SHOW data_checksums;', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-p', '5433'] }]);
  t.throws(() => showChecksums(Number('5433; id')), /not a port/);
});
