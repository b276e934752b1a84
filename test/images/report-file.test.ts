import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { jsonLine, reportFormat, ReportWriter, TSV_HEADER, tsvLine } from '../../src/images/report-file.js';
import type { Entry, Row } from '../../src/images/types.js';

const e = (path: string, size: number, value = 'h'): Entry => ({ path, size, mtime: '1.5', digest: { kind: 'hashed', value } });

t.test('report format from the file name', async (t) => {
  const cases: [string, string][] = [['r.tsv', 'tsv'], ['r', 'tsv'], ['r.jsonl', 'jsonl'], ['R.NDJSON', 'jsonl'], ['r.json', 'tsv']];
  for (const [file, want] of cases) t.equal(reportFormat(file), want, file);
});

t.test('TSV lines: one row per line, whatever the name holds', async (t) => {
  const cases: { row: Row; want: string }[] = [
    { row: { status: 'missing', path: 'a b', source: e('a b', 3) }, want: 'missing\ta b\t3\t\th\t\t1.5\t\n' },
    { row: { status: 'extra', path: 'x', replica: e('x', 4) }, want: 'extra\tx\t\t4\t\th\t\t1.5\n' },
    { row: { status: 'content_mismatch', path: 't\tn\nc\rb\\', source: e('', 1, 'a'), replica: e('', 1, 'b') }, want: 'content_mismatch\tt\\tn\\nc\\rb\\\\\t1\t1\ta\tb\t1.5\t1.5\n' },
    { row: { status: 'equal', verified: false, path: 'u', source: { ...e('u', 1), digest: { kind: 'unhashed' } }, replica: e('u', 1) }, want: 'equal\tu\t1\t1\t-\th\t1.5\t1.5\n' },
    { row: { status: 'unreadable', path: 'r', source: e('r', 1), replica: { ...e('r', 1), digest: { kind: 'unreadable' } } }, want: 'unreadable\tr\t1\t1\th\t!\t1.5\t1.5\n' },
  ];
  for (const c of cases) t.equal(tsvLine(c.row), c.want, c.row.status);
  t.equal(TSV_HEADER.split('\t').length, tsvLine(cases[0].row).split('\t').length, 'header and rows have the same columns');
});

t.test('JSON lines decode the name as UTF-8', async (t) => {
  const row: Row = { status: 'missing', path: Buffer.from('ü').toString('latin1'), source: e('', 2) };
  t.same(JSON.parse(jsonLine(row)), { status: 'missing', path: 'ü', source: { size: 2, mtime: '1.5', hash: 'h' }, replica: null });
});

t.test('the writer streams rows and keeps the bytes of names', async (t) => {
  const dir = t.testdir();
  const rows: Row[] = [{ status: 'missing', path: 'latin-\xff', source: e('', 1) }];
  for (const name of ['r.tsv', 'r.jsonl']) {
    const w = await ReportWriter.open(join(dir, name));
    await w.write(rows);
    await w.write(rows);
    await w.close();
    const bytes = readFileSync(join(dir, name));
    if (name.endsWith('.tsv')) {
      t.ok(bytes.includes(Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x2d, 0xff, 0x09])), 'the raw 0xff byte is kept');
      t.equal(bytes.toString('latin1').split('\n').length, 4, 'header + 2 rows');
    } else t.equal(bytes.toString().trim().split('\n').length, 2);
  }
  await t.rejects(ReportWriter.open(join(dir, 'no/such/dir/r.tsv')));
});
