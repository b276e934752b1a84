import t from 'tap';
import { parseAmcheckReport, parseAmcheckStatus, parseChecksumLines } from '../../src/facts/integrity.js';

t.test('checksum lines from pg_controldata', async (t) => {
  const cases: [string, string, unknown][] = [
    ['on, 1 GiB', '15\tmain\tonline\t1\t1048576\n', [{ version: 15, cluster: 'main', online: true, checksums: 'on', data_bytes: 1073741824 }]],
    ['off, down', '15\tmain\tdown\t0\t100\n', [{ version: 15, cluster: 'main', online: false, checksums: 'off', data_bytes: 102400 }]],
    ['unreadable control file and du', '16\tother\tonline\t?\t?\n', [{ version: 16, cluster: 'other', online: true, checksums: null, data_bytes: null }]],
    ['a version that is not one', 'x\tmain\tonline\t1\t1\n', []],
  ];
  for (const [name, text, want] of cases) t.same(parseChecksumLines(text), want, name);
});

t.test('amcheck status file', async (t) => {
  t.same(parseAmcheckStatus('started=2026-12-02T03:30:00Z\nfinished=2026-12-02T03:31:10Z\nexit=2\nstate=corrupt\nseconds=70\n'), { started: '2026-12-02T03:30:00Z', finished: '2026-12-02T03:31:10Z', exit: 2, state: 'corrupt', seconds: 70 });
  t.equal(parseAmcheckStatus(undefined), null);
  t.equal(parseAmcheckStatus('state=ok\n'), null, 'no start time: not one the job wrote');
  t.equal(parseAmcheckStatus('started=2026-12-02T03:30:00Z\nstate=fine\n'), null, 'unknown state');
});

t.test("pg_amcheck's report (as PostgreSQL 15 prints it)", async (t) => {
  const report = [
    'btree index "app.public.orders_pkey":',
    '    ERROR:  invalid page in block 1 of relation base/16384/16390',
    'heap table "app.public.orders":',
    '    ERROR:  invalid page in block 1 of relation base/16384/16385',
    'heap table "app.crm.Contacts", block 7, offset 3:',
    '    xmin 5 precedes relation freeze threshold 0:9',
    'heap table "app.crm.Contacts", block 7, offset 4:',
    '    xmin 6 precedes relation freeze threshold 0:9',
    'WARNING:  page verification failed, calculated checksum 42100 but expected 6292',
  ].join('\n');
  t.same(parseAmcheckReport(report), [
    { kind: 'index', relation: 'app.public.orders_pkey', block: 1, message: 'ERROR:  invalid page in block 1 of relation base/16384/16390' },
    { kind: 'heap', relation: 'app.public.orders', block: 1, message: 'ERROR:  invalid page in block 1 of relation base/16384/16385' },
    { kind: 'heap', relation: 'app.crm.Contacts', block: 7, message: 'xmin 5 precedes relation freeze threshold 0:9' },
  ]);
  t.same(parseAmcheckReport(''), []);
});
