// The one table of host paths: the modules that name a host file take it from there, and census.sh (POSIX sh, which
// spells its own defaults) agrees with it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { PATHS as BACKUP } from '../../src/backup/render.js';
import { HOST_PATHS, STATE_DIR } from '../../src/core/host-paths.js';
import { INTEGRITY_PATHS } from '../../src/corruption/paths.js';
import { IDENTITY_FILE, PRODUCTION_MARKER_FILE } from '../../src/facts/identity.js';
import { censusScriptPath } from '../../src/instances/script.js';
import { TLS_DIR } from '../../src/tls/paths.js';

t.test('census.sh defaults to the table', async (t) => {
  const census = readFileSync(censusScriptPath(), 'utf8');
  t.match(census, new RegExp(`^identity=${HOST_PATHS.identity}$`, 'm'), 'pinned identities');
  t.match(census, new RegExp(`^restored=${HOST_PATHS.restored}$`, 'm'), 'restore pins');
});

t.test('the modules name the table entries', async (t) => {
  t.equal(IDENTITY_FILE, '/var/lib/ironclad/identity.json');
  t.equal(PRODUCTION_MARKER_FILE, '/var/lib/ironclad/production');
  t.equal(TLS_DIR, '/etc/ironclad/tls');
  t.equal(INTEGRITY_PATHS.status, '/var/lib/ironclad/integrity/amcheck.status');
  t.equal(BACKUP.job, '/usr/local/sbin/ironclad-backup');
  for (const [name, path] of Object.entries(BACKUP))
    if (path.startsWith('/var/lib/')) t.ok(path.startsWith(`${STATE_DIR}/`), `backup ${name} is in the state folder`);
});
