// `pitr status` from the store's lines: parsed strictly (a line of another shape is an error naming the store), the
// DESIGN.md JSON fields kept, the text naming what is wrong; base backup progress from pg_basebackup's reports.
import t from 'tap';
import { humanSeconds, parseBaseProgress, parseStatus, progressLine, renderStatus, statusJson } from '../../src/pitr/status.js';

const LINE = '{"host":"db-prod","cluster":"15/main","earliest":"2026-12-02T21:48:08Z","latest":"2026-12-02T21:53:27.659794Z","lag_s":4,"archiving":true,"bases":1,"segments":3,"gap":false,"received_s":2,"receiver":true,"stopped":null,"earliest_base":"20261202T214807Z","newest_base":"20261202T214807Z"}';

t.test('a status line: the contract fields, ISO 8601 UTC times, the store named', async (t) => {
  const [w] = parseStatus(LINE + '\n', 'backup-far');
  t.same(Object.keys(statusJson([w]).clusters[0]).slice(0, 6), ['host', 'cluster', 'earliest', 'latest', 'lag_s', 'archiving'], 'DESIGN.md fields first, as named');
  t.match(w, { host: 'db-prod', cluster: '15/main', earliest: '2026-12-02T21:48:08Z', latest: '2026-12-02T21:53:27.659794Z', lag_s: 4, archiving: true, store: 'backup-far' });
  t.match(renderStatus([w]), /^db-prod 15\/main \(on backup-far\): restorable from 2026-12-02T21:48:08Z to 2026-12-02T21:53:27\.659794Z, lag 4 s; archiving ok$/m);
});

t.test('lines of another shape are errors naming the store, never half-read', async (t) => {
  const bad: [string, string][] = [
    ['not JSON', 'late db-prod'],
    ['a time that is not ISO UTC', LINE.replace('"2026-12-02T21:48:08Z"', '"yesterday"')],
    ['a time with an offset', LINE.replace('"2026-12-02T21:48:08Z"', '"2026-12-02T21:48:08+01:00"')],
    ['a lag that is text', LINE.replace('"lag_s":4', '"lag_s":"4"')],
    ['archiving missing', LINE.replace('"archiving":true,', '')],
  ];
  for (const [what, line] of bad) t.throws(() => parseStatus(line, 'backup-far'), /^backup-far: /, what);
  t.same(parseStatus('\n\n', 'backup-far'), [], 'no hosts, no lines');
});

t.test('the text names what is wrong', async (t) => {
  const [w] = parseStatus(LINE, 's');
  const out = renderStatus([{ ...w, archiving: false, receiver: false, gap: true, bases: 0, earliest: null, latest: null, lag_s: null, stopped: 'less than 5% would stay free on the store' }]);
  t.match(out, /no recovery window yet; archiving NOT OK/);
  t.match(out, /! the receiver is not running/);
  t.match(out, /! receiving stopped: less than 5% would stay free/);
  t.match(out, /! a WAL gap/);
  t.match(out, /! no base backup yet \(ironclad pitr base --host db-prod\)/);
  t.match(renderStatus([]), /no host archives continuously/);
});

t.test('base backup progress: the last of pg_basebackup\'s \\r-separated reports; bytes, rate, time left', async (t) => {
  t.same(parseBaseProgress('waiting for checkpoint\r  1024/4096 kB (25%), 0/1 tablespace\r  2048/4096 kB (50%), 0/1 tablespace'), { doneBytes: 2048 * 1024, totalBytes: 4096 * 1024 });
  t.equal(parseBaseProgress('pg_basebackup: initiating base backup'), null);
  t.equal(progressLine({ doneBytes: 2 * 1048576, totalBytes: 4 * 1048576 }, 2), '2.0 MB of 4.0 MB, 1.0 MB/s, 2 s left');
  t.equal(humanSeconds(7200), '2 h');
  t.equal(humanSeconds(null), '-');
});
