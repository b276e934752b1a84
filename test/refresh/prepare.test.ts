import t from 'tap';
import { copiedDir } from '../../src/refresh/discard.js';
import { dumpExtensions, dumpedIdent, restorableToc } from '../../src/refresh/prepare.js';

const TOC = [
  ';',
  '6; 2615 16390 SCHEMA - crm app',
  '2; 3079 16385 EXTENSION - citext ',
  '4102; 0 0 COMMENT - EXTENSION citext ',
  '220; 1259 16400 TABLE crm Contacts app',
  '3300; 3466 16500 EVENT TRIGGER - no_ddl postgres',
  '3301; 6104 16501 PUBLICATION - pub postgres',
  '3302; 6106 16502 PUBLICATION TABLE public pub users postgres',
  '3303; 6100 16503 SUBSCRIPTION - sub postgres',
  '3370; 0 16400 TABLE DATA crm Contacts app',
].join('\n');

t.test('what a plain role restores: schemas first, extensions by postgres, never event triggers or replication', async (t) => {
  const r = restorableToc(TOC);
  t.same(r.schemas, '6; 2615 16390 SCHEMA - crm app');
  t.same(r.list.split('\n'), [';', '220; 1259 16400 TABLE crm Contacts app', '3370; 0 16400 TABLE DATA crm Contacts app']);
  t.same(r.leftOut, ['EVENT TRIGGER - no_ddl postgres', 'PUBLICATION - pub postgres', 'PUBLICATION TABLE public pub users postgres', 'SUBSCRIPTION - sub postgres']);
});

t.test("a comment or security label on a left-out object goes with it (restored alone, pg_restore fails: the object is not there); on a restored one it stays", async (t) => {
  const toc = [
    TOC,
    '4200; 0 0 COMMENT - EVENT TRIGGER no_ddl postgres',
    '4201; 0 0 COMMENT - PUBLICATION pub postgres',
    '4202; 0 0 SECURITY LABEL - SUBSCRIPTION sub postgres',
    '4203; 0 0 COMMENT - TABLE Contacts app',
    '4204; 0 0 COMMENT - EVENT TRIGGER no_ddl_other postgres',
    '3304; 6104 16504 PUBLICATION - kept app',
    '4205; 0 0 COMMENT - PUBLICATION kept app',
    '4206; 0 0 COMMENT - PUBLICATION kept postgres',
  ].join('\n');
  const kept = '3304; 6104 16504 PUBLICATION - kept app';
  const list = restorableToc(toc, new Set([kept])).list.split('\n');
  t.same(list.filter((l) => l.includes('COMMENT') || l.includes('LABEL') || l.includes('PUBLICATION')), [
    '4203; 0 0 COMMENT - TABLE Contacts app',
    '4204; 0 0 COMMENT - EVENT TRIGGER no_ddl_other postgres',
    kept,
    '4205; 0 0 COMMENT - PUBLICATION kept app',
    '4206; 0 0 COMMENT - PUBLICATION kept postgres',
  ], "the left-out objects' notes gone; a table's note, a note on another name and the restored publication's notes kept");
  t.equal(restorableToc(toc, new Set([kept])).leftOut.length, 4, 'the report still names the objects, not their notes');
});

t.test("the dump's extensions: names its TOC lists, their schemas from its SQL, unquoted for ironclad's own statement", async (t) => {
  const pre = 'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;\n\nCREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;\nCREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA "Odd ""x""";\n';
  t.same(dumpExtensions(TOC, pre), [{ name: 'citext', schema: 'public' }], 'hstore is not in the TOC: not created');
  t.same(dumpExtensions('2; 3079 16385 EXTENSION - citext ', 'CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA "Odd ""x""";'), [{ name: 'citext', schema: 'Odd "x"' }]);
  t.equal(dumpedIdent('public; DROP'), undefined);
});

t.test('the copied backup a failure removes: only a folder right under the refresh directory', async (t) => {
  t.equal(copiedDir({ dir: '/var/lib/ironclad/refresh/20261202T1200Z' }), '/var/lib/ironclad/refresh/20261202T1200Z');
  t.equal(copiedDir({ id: 'B1' }), '/var/lib/ironclad/refresh/B1');
  t.equal(copiedDir({}), undefined, 'no backup picked yet: nothing to remove');
  t.throws(() => copiedDir({ dir: '/var/lib/ironclad/refresh/..' }), /is not a copied backup/);
  t.throws(() => copiedDir({ dir: '/etc' }), /is not a copied backup/);
  t.throws(() => copiedDir({ id: '../x' }), /is not a copied backup/);
});
