// The backup job's own psql runs (the counting session, the newest event, the corruption check's relation name): each
// `su postgres -s /bin/sh -c TEXT DB ...` text taken from the real scripts and run here by sh with a stand-in psql that
// records its environment and arguments. The database reaches psql only in PGDATABASE, never as `-d` (libpq parses a
// -d value holding '=' as connection options: `app host=elsewhere` would connect elsewhere).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../fixtures/tmp.js';

const src = (f: string) => readFileSync(new URL(`../../src/backup/${f}`, import.meta.url), 'utf8');
/** Every `su postgres -s /bin/sh -c "TEXT" ARGS...` of a script, as the shell would see TEXT (the script's \" and \$ unescaped). */
function suTexts(script: string): { text: string; args: string }[] {
  return [...script.matchAll(/su postgres -s \/bin\/sh -c "((?:[^"\\]|\\.)*)" ((?:"\$[A-Za-z_{}]+"|"\$PGBIN\/[a-z_]+") ?)+/g)].map((m) => ({ text: m[1].replace(/\\(["$\\])/g, '$1'), args: m[0].slice(m[0].indexOf(m[1]) + m[1].length + 2) }));
}

const HOSTILE = "app host=10.0.0.66 dbname=other options='-c x=y'";

t.test('every psql of the backup job gets its database in PGDATABASE, verbatim, and no -d', async (t) => {
  const dir = tempDir('ironclad-job-psql-');
  const psql = join(dir, 'psql');
  writeFileSync(psql, `#!/bin/sh\ncat > /dev/null\nprintf '%s\\n' "db=$PGDATABASE" "$@" > "${dir}/run"\n`, { mode: 0o755 });
  const found = ['job-session.sh', 'job.sh', 'corrupt.sh'].flatMap((f) => suTexts(src(f)).filter((s) => /psql/.test(s.args)).map((s) => ({ f, ...s })));
  t.equal(found.length, 3, 'the three psql runs of the job were found in its scripts');
  for (const { f, text, args } of found) {
    t.notMatch(text, / -d /, `${f}: no -d`);
    // the positional arguments as the script passes them: $0 the database, the psql program last, anything between empty
    const n = args.trim().split(/\s+/).length;
    const argv = [HOSTILE, ...Array.from({ length: n - 2 }, () => ''), psql];
    execFileSync('/bin/sh', ['-c', text.replace(/\$PORT/g, '5432'), ...argv], { input: 'SELECT 1;\n' });
    const run = readFileSync(join(dir, 'run'), 'utf8').split('\n');
    t.equal(run[0], `db=${HOSTILE}`, `${f}: the database as one value, in PGDATABASE`);
    t.notOk(run.slice(1).includes('-d') || run.slice(1).some((a) => a.includes('host=')), `${f}: nothing of the name among psql's arguments`);
  }
});
