// The backup job's own psql and pg_dump runs (the counting session, the dump in both formats, the newest event, the
// corruption check's relation name): each `su postgres -s /bin/sh -c TEXT DB ...` text taken from the real scripts and
// run here by sh with the stand-in clients of test/fixtures/psql-standin.ts, which record their environment and
// arguments. The database reaches them only in PGDATABASE, never as `-d` or pg_dump's positional name (libpq parses
// either holding '=' as connection options: `app host=elsewhere` would connect elsewhere).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { HOSTILE_NAMES, standIns } from '../fixtures/psql-standin.js';

const src = (f: string) => readFileSync(new URL(`../../src/backup/${f}`, import.meta.url), 'utf8');
/** Every `su postgres -s /bin/sh -c "TEXT" ARGS...` of a script, as the shell would see TEXT (the script's \" and \$ unescaped). */
function suTexts(script: string): { text: string; args: string }[] {
  return [...script.matchAll(/su postgres -s \/bin\/sh -c "((?:[^"\\]|\\.)*)" ((?:"\$[A-Za-z_{][^"]*") ?)+/g)].map((m) => ({ text: m[1].replace(/\\(["$\\])/g, '$1'), args: m[0].slice(m[0].indexOf(m[1]) + m[1].length + 2) }));
}

t.test('every psql and pg_dump of the backup job gets its database in PGDATABASE, verbatim, and no -d', async (t) => {
  const found = ['job-session.sh', 'job.sh', 'corrupt.sh', 'job-dump.sh'].flatMap((f) => suTexts(src(f)).flatMap((s) => {
    const program = /PGBIN\/(psql|pg_dump)"/.exec(s.args)?.[1];
    return program ? [{ f, program, ...s }] : [];
  }));
  t.same(found.map((x) => `${x.f} ${x.program}`), ['job-session.sh psql', 'job.sh psql', 'corrupt.sh psql', 'job-dump.sh pg_dump', 'job-dump.sh pg_dump'], 'the three psql runs and the two dumps of the job were found in its scripts');
  for (const { f, program, text, args } of found) {
    t.notMatch(text, / -d /, `${f}: no -d`);
    const s = standIns();
    // the positional arguments as the script passes them: $0 the database, the program last, a plain word between
    const n = args.trim().split(/\s+/).length;
    for (const name of HOSTILE_NAMES) {
      const argv = [name, ...Array.from({ length: n - 2 }, () => 'x'), join(s.bin, program)];
      execFileSync('/bin/sh', ['-c', text.replace(/\$PORT/g, '5432').replace(/\$COMPRESSION/g, '1'), ...argv], { input: 'SELECT 1;\n', env: s.env() });
    }
    const runs = s.runs();
    t.same(runs.map((r) => r.database), HOSTILE_NAMES, `${f} ${program}: each name as one value, in PGDATABASE`);
    t.notOk(runs.some((r) => r.args.includes('-d') || r.args.some((a) => HOSTILE_NAMES.includes(a))), `${f} ${program}: no name among the client's arguments`);
  }
});
