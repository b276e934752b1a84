// The one list of what a copy never restores: the refresh's regular expressions (JavaScript) and the drill's grep -E
// (rendered from the same sources) pick exactly the same lines of a table of contents.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { LEFT_OUT, LEFT_OUT_OBJECT, LEFT_OUT_SOURCE, NOTE_ON, NOTE_ON_LEFT_OUT_SOURCE } from '../../src/core/toc.js';

const TOC = [
  '3412; 3466 16402 EVENT TRIGGER - no_ddl postgres',
  '3413; 0 0 COMMENT - EVENT TRIGGER no_ddl postgres',
  '3414; 6104 16410 PUBLICATION - all_pub app',
  '3415; 6106 16411 PUBLICATION TABLE public words_pub words app',
  '3416; 6107 16412 PUBLICATION TABLES IN SCHEMA public pub_schema app',
  '3417; 6100 16413 SUBSCRIPTION - sub app',
  '3418; 0 0 SECURITY LABEL - SUBSCRIPTION sub app',
  '3419; 0 0 COMMENT - TABLE users app',
  '215; 1259 16385 TABLE public users app',
  '3420; 0 16385 TABLE DATA public "EVENT TRIGGER - x" app',
  '3421; 0 0 COMMENT - TABLE "PUBLICATION - p" app',
  '8; 2615 2200 SCHEMA - public pg_database_owner',
];

t.test('JavaScript and grep -E pick the same lines, and only the left-out kinds and the notes on them', async (t) => {
  for (const [source, re] of [[LEFT_OUT_SOURCE, LEFT_OUT], [NOTE_ON_LEFT_OUT_SOURCE, null]] as const) {
    const js = TOC.filter((l) => (re ?? new RegExp(source)).test(l));
    const grep = spawnSync('grep', ['-E', '-e', source], { input: TOC.join('\n') + '\n', encoding: 'utf8' }).stdout.trim().split('\n');
    t.same(grep, js, `the same lines: ${source}`);
  }
  t.same(TOC.filter((l) => LEFT_OUT.test(l)).map((l) => l.split(' ')[3]), ['EVENT', 'PUBLICATION', 'PUBLICATION', 'PUBLICATION', 'SUBSCRIPTION'], 'the left-out kinds, never a table named like one');
  t.same(TOC.filter((l) => new RegExp(NOTE_ON_LEFT_OUT_SOURCE).test(l)).map((l) => l.split(' ')[0]), ['3413;', '3418;'], 'a comment or label on a left-out object, not on a table');
  t.same(LEFT_OUT_OBJECT.exec(TOC[2]!)?.slice(1, 3), ['PUBLICATION', 'all_pub app']);
  t.same(NOTE_ON.exec(TOC[1]!)?.slice(1, 3), ['EVENT TRIGGER', 'no_ddl postgres'], 'a note names its object the way the object names itself');
});
