// The manifest's one shape: schemas/manifest.schema.json (read by ironclad) and the store's own check (MANIFEST_RE in
// src/backup/store.sh, applied before a commit) accept and refuse the same manifests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { isValid } from '../../src/inventory/schema.js';

const storeSh = readFileSync('src/backup/store.sh', 'utf8');
const rules = storeSh.slice(storeSh.indexOf("SAFE='"), storeSh.indexOf('\n', storeSh.indexOf('MANIFEST_RE=')));
const storeAccepts = (line: string) => spawnSync('sh', ['-c', `${rules}\nprintf '%s\\n' "$1" | grep -Eq "$MANIFEST_RE"`, 'sh', line]).status === 0;

const sum = 'a'.repeat(64);
const good = { format: 2, host: 'db-prod', database: 'app', cluster: '15/main', system_identifier: '7312345678901234567', server_version: '15.14 (Debian 15.14-0+deb12u1)', dump_format: 'custom', encrypted: true, started_at: '2026-12-02T02:15:00Z', finished_at: '2026-12-02T02:16:00Z', tables: 5, rows: 8835, bytes: 106997, newest_event: '2026-12-02 02:00:00.123+00', files: { 'dump.pgdump.age': sum, 'counts.json.age': sum } };

const cases: [string, Record<string, unknown>, boolean][] = [
  ['the job\'s manifest', good, true],
  ['no newest event', { ...good, newest_event: null }, true],
  ['a directory-format dump', { ...good, dump_format: 'directory', files: { 'dump.tar.age': sum, 'counts.json.age': sum } }, true],
  ['not encrypted', { ...good, encrypted: false }, false],
  ['a quote in a string', { ...good, cluster: '15/main"x' }, false],
  ['a backslash', { ...good, server_version: '15\\n' }, false],
  ['a newline', { ...good, newest_event: 'a\nb' }, false],
  ['a path as a host', { ...good, host: '../etc' }, false],
  ['a slash in the database', { ...good, database: 'a/b' }, false],
  ['row counts in the clear', { ...good, row_counts: { 'public.users': 1 } }, false],
  ['another file', { ...good, files: { ...good.files, 'verified.json': sum } }, false],
  ['a short checksum', { ...good, files: { ...good.files, 'dump.pgdump.age': 'abc' } }, false],
  ['a time that is not UTC', { ...good, finished_at: '2026-12-02 02:16:00' }, false],
  ['negative rows', { ...good, rows: -1 }, false],
  ['format 1', { ...good, format: 1 }, false],
];

for (const [what, manifest, ok] of cases) {
  t.test(what, async (t) => {
    const line = JSON.stringify(manifest);
    t.equal(isValid('manifest', manifest), ok, `the schema ${ok ? 'accepts' : 'refuses'} it`);
    t.equal(storeAccepts(line), ok, `the store ${ok ? 'accepts' : 'refuses'} it`);
  });
}
