// The backup job's own psql and pg_dump runs (the counting session, the dump in both formats, the newest event, the
// corruption check's relation name): each
// `su postgres -s /bin/sh -c TEXT DB ...` text taken from the real scripts and run here by sh with a stand-in psql that
// records its environment and arguments. The database reaches them only in PGDATABASE, never as `-d` or pg_dump's
// positional name (libpq parses either holding '=' as connection options: `app host=elsewhere` would connect elsewhere).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { tempDir } from '../fixtures/tmp.js';

const src = (f: string) => readFileSync(new URL(`../../src/backup/${f}`, import.meta.url), 'utf8');
/** Every `su postgres -s /bin/sh -c "TEXT" ARGS...` of a script, as the shell would see TEXT (the script's \" and \$ unescaped). */
function suTexts(script: string): { text: string; args: string }[] {
  return [...script.matchAll(/su postgres -s \/bin\/sh -c "((?:[^"\\]|\\.)*)" ((?:"\$[A-Za-z_{][^"]*") ?)+/g)].map((m) => ({ text: m[1].replace(/\\(["$\\])/g, '$1'), args: m[0].slice(m[0].indexOf(m[1]) + m[1].length + 2) }));
}

const HOSTILE = "app host=10.0.0.66 dbname=other options='-c x=y'";

t.test('every psql and pg_dump of the backup job gets its database in PGDATABASE, verbatim, and no -d', async (t) => {
  const dir = tempDir('ironclad-job-psql-');
  const standIn = join(dir, 'client');
  writeFileSync(standIn, `#!/bin/sh\ncat > /dev/null\nprintf '%s\\n' "db=$PGDATABASE" "$@" > "${dir}/run"\n`, { mode: 0o755 });
  const found = ['job-session.sh', 'job.sh', 'corrupt.sh', 'job-dump.sh'].flatMap((f) => suTexts(src(f)).filter((s) => /PGBIN\/(psql|pg_dump)"/.test(s.args)).map((s) => ({ f, ...s })));
  t.same(found.map((x) => `${x.f} ${/(psql|pg_dump)"/.exec(x.args)![1]}`), ['job-session.sh psql', 'job.sh psql', 'corrupt.sh psql', 'job-dump.sh pg_dump', 'job-dump.sh pg_dump'], 'the three psql runs and the two dumps of the job were found in its scripts');
  for (const { f, text, args } of found) {
    t.notMatch(text, / -d /, `${f}: no -d`);
    // the positional arguments as the script passes them: $0 the database, the psql program last, anything between empty
    const n = args.trim().split(/\s+/).length;
    const argv = [HOSTILE, ...Array.from({ length: n - 2 }, () => 'x'), standIn];
    execFileSync('/bin/sh', ['-c', text.replace(/\$PORT/g, '5432').replace(/\$COMPRESSION/g, '1'), ...argv], { input: 'SELECT 1;\n' });
    const run = readFileSync(join(dir, 'run'), 'utf8').split('\n');
    t.equal(run[0], `db=${HOSTILE}`, `${f}: the database as one value, in PGDATABASE`);
    t.notOk(run.slice(1).includes('-d') || run.slice(1).some((a) => a.includes('host=')), `${f}: nothing of the name among the client's arguments`);
  }
});
