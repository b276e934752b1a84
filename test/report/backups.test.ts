import t from 'tap';
import { renderBackupList } from '../../src/report/backups.js';

const e = { id: '20261202T170504Z-db-prod-app', host: 'db-prod', database: 'app', time: '2026-12-02T17:05:04Z', bytes: 107000, tables: 5, rows: 8835, system_identifier: '7714753828393185384', verified: true, verified_at: '2026-12-02T17:06:34Z', encrypted: true };

t.test('the list says which backups are encrypted and which a drill proved', async (t) => {
  const out = renderBackupList([e, { ...e, id: '20261101T021500Z-db-prod-app', encrypted: false, verified: false, verified_at: null }]).split('\n');
  t.match(out[0], /^ID +HOST +DATABASE +TIME \(store\) +SIZE +TABLES +ROWS +SYSTEM ID +ENCRYPTED +VERIFIED$/);
  t.match(out[1], /104\.5 KiB +5 +8835 +7714753828393185384 +yes +yes 2026-12-02T17:06:34Z$/);
  t.match(out[2], /NO \(before encryption\) +no$/);
  t.equal(renderBackupList([]), 'no backups in the store yet');
});
