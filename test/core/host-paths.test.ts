// The one table of host paths: the modules that name a host file take it from there, and census.sh (POSIX sh, which
// spells its own defaults) agrees with it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { PATHS as BACKUP } from '../../src/backup/render.js';
import { HOST_PATHS, STATE_DIR } from '../../src/core/host-paths.js';
import { INTEGRITY_PATHS } from '../../src/corruption/paths.js';
import { CHECK_CACHE_DIR, checkJobPaths } from '../../src/images/check-job.js';
import { KEY_DIR } from '../../src/images/check-key.js';
import { IMAGE_RECORD_DIR } from '../../src/images/record.js';
import { progressReadCommand } from '../../src/images/repair-script.js';
import { PITR_PATHS } from '../../src/pitr/render.js';
import { restorePaths } from '../../src/pitr/restore-scripts.js';
import { IDENTITY_FILE, PRODUCTION_MARKER_FILE } from '../../src/facts/identity.js';
import { censusScriptPath } from '../../src/instances/script.js';

t.test('census.sh defaults to the table', async (t) => {
  const census = readFileSync(censusScriptPath(), 'utf8');
  t.match(census, new RegExp(`^identity=${HOST_PATHS.identity}$`, 'm'), 'pinned identities');
  t.match(census, new RegExp(`^restored=${HOST_PATHS.restored}$`, 'm'), 'restore pins');
});

t.test('the modules name the table entries', async (t) => {
  t.equal(IDENTITY_FILE, '/var/lib/ironclad/identity.json');
  t.equal(PRODUCTION_MARKER_FILE, '/var/lib/ironclad/production');
  t.equal(HOST_PATHS.tls, '/etc/ironclad/tls');
  t.equal(INTEGRITY_PATHS.status, '/var/lib/ironclad/integrity/amcheck.status');
  t.equal(BACKUP.job, '/usr/local/sbin/ironclad-backup');
  for (const [name, path] of Object.entries(BACKUP))
    if (path.startsWith('/var/lib/')) t.ok(path.startsWith(`${STATE_DIR}/`), `backup ${name} is in the state folder`);
});

t.test('the image scripts default to the table (they run without Node.js)', async (t) => {
  const scan = readFileSync(new URL('../../src/images/scan.sh', import.meta.url), 'utf8');
  const repair = readFileSync(new URL('../../src/images/repair.sh', import.meta.url), 'utf8');
  t.match(scan, new RegExp(`then cachedir=${HOST_PATHS.imagesCache}$`, 'm'), "scan.sh's cache for root");
  t.match(repair, new RegExp(`then rundir=${HOST_PATHS.imagesRun}; else`), "repair.sh's progress folder for root");
  t.equal(CHECK_CACHE_DIR, HOST_PATHS.imagesCache);
  t.equal(KEY_DIR, '/var/lib/ironclad/images/keys');
  t.equal(IMAGE_RECORD_DIR, '/var/lib/ironclad/images');
  t.equal(checkJobPaths('ironclad-images-check-uploads').log, '/var/lib/ironclad/images/uploads.check.log');
  t.equal(checkJobPaths('ironclad-images-check-uploads').job, '/usr/local/sbin/ironclad-images-check-uploads');
  t.match(progressReadCommand('p'), `rundir=${HOST_PATHS.imagesRun}; else rundir=\${XDG_RUNTIME_DIR:-\${HOME:-/nonexistent}/.cache}/ironclad-run; fi`, "repair's progress reader asks where repair.sh writes");
});

t.test("the backup's host scripts spell the table's paths (they run without Node.js)", async (t) => {
  const fetch = readFileSync(new URL('../../src/backup/fetch.sh', import.meta.url), 'utf8');
  const drill = readFileSync(new URL('../../src/backup/drill.sh', import.meta.url), 'utf8');
  const spelled = (text: string) => [...text.matchAll(/\/var\/lib\/ironclad\/[A-Za-z0-9_.-]+/g)].map((m) => m[0]);
  t.same([...new Set(spelled(fetch))].sort(), [BACKUP.identity, BACKUP.knownHosts, BACKUP.refreshKey].sort(), "fetch.sh: the refresh key, the store's pinned host key, the age identity");
  t.same([...new Set(spelled(drill))], [`${STATE_DIR}/drill.lock`], "drill.sh: its lock in the state folder");
});

t.test('point-in-time recovery names the table entries', async (t) => {
  t.equal(PITR_PATHS.script, '/usr/local/sbin/ironclad-pitr');
  t.equal(PITR_PATHS.conf, '/var/lib/ironclad/pitr');
  t.equal(restorePaths('main_r').pin, `${HOST_PATHS.restored}/main_r.json`, "a restored cluster's pin is where the census reads restore pins");
  t.ok(restorePaths('main_r').progress.startsWith(`${STATE_DIR}/`), 'the progress file is in the state folder');
});
