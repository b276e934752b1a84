import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { jobChanges, storeChanges } from '../../src/backup/operations.js';
import { authorizedKeyLine, renderCron, renderJob, renderStore } from '../../src/backup/render.js';
import type { BackupState } from '../../src/backup/state.js';
import { gateScript } from '../../src/instances/gate.js';
import { loadInventory } from '../../src/inventory/load.js';
import { tempDir } from '../fixtures/tmp.js';

const inv = loadInventory('inventory/lab.yaml');
const db = inv.hosts.find((h) => h.name === 'db-prod')!;
const store = inv.hosts.find((h) => h.name === 'backup-far')!;
const empty: BackupState = { publicKey: null, refreshKey: null, files: {}, rsync: true, pgRestore: true, systemd: false, storeUser: { exists: false, home: null, authorizedKeys: null } };
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;

t.test('the rendered job and store scripts are shellcheck clean', { skip: !hasShellcheck && 'shellcheck not installed' }, async (t) => {
  const dir = tempDir('ironclad-sc-');
  writeFileSync(join(dir, 'job.sh'), renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file }));
  writeFileSync(join(dir, 'store.sh'), renderStore(store));
  const r = spawnSync('shellcheck', ['-s', 'sh', join(dir, 'job.sh'), join(dir, 'store.sh')], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout);
});

t.test('job: inventory values rendered quoted; the gate comes before any dump', async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  t.match(job, /^MIN_TABLES='3'$/m);
  t.match(job, /^MAX_SHRINK='0\.5'$/m);
  t.match(job, /^STORE_ADDR='10\.213\.7\.12'$/m);
  t.ok(job.indexOf('ironclad_gate) 2>&1') < job.lastIndexOf('for db in $DATABASES'), 'gate first');
  t.equal(renderCron(db).split('\n').at(-2), '15 2 * * * root /usr/local/sbin/ironclad-backup >/dev/null 2>&1');
});

t.test('job: the row counts run in the dump\'s snapshot while pg_dump runs, committed only after it; each file summed once', async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  const counts = job.indexOf("SELECT '@@counts';");
  const dump = job.indexOf('pg_dump -p $PORT --snapshot=');
  const commit = job.indexOf(`printf '%s\\n' "SELECT '@@end';" 'COMMIT;' >&4`);
  t.ok(counts > 0 && dump > counts && commit > dump, 'counts sent before pg_dump starts, COMMIT only after it ended');
  t.notMatch(job.slice(counts, dump), /COMMIT/, 'the snapshot stays valid while pg_dump imports it');
  t.match(job, /SELECT '@@server', system_identifier, current_setting\('server_version'\) FROM pg_control_system\(\);/);
  t.ok(job.indexOf('( open_store && store last "$HOST" "$db" )') < dump, 'the last good backup is asked while the dump runs');
  t.ok(job.indexOf('rc=0; wait "$asking" || rc=$?') > job.indexOf('if [ "$rows" -eq 0 ]'), '...and judged after the empty/too-few-tables refusals');
  t.equal((job.match(/xargs sha256sum/g) ?? []).length, 1, 'the dump files are read once for their sums');
  t.match(job, /\{ cat "\$dir\/\.files" && \(cd "\$dir" && sha256sum manifest\.json\); \} > "\$dir\/SHA256SUMS\.tmp"/);
  t.ok(job.indexOf('mv "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS"') > job.indexOf('rm -f "$dir"/.session.*'), 'SHA256SUMS (what a resumed run looks for) appears whole, after the scratch files are gone');
  const writes = job.split('\n').filter((l) => />&4\b/.test(l) && !/exec 4>/.test(l));
  t.equal(writes.length, 3, 'three writes to the counting session');
  t.ok(writes.every((l) => l.includes("(trap '' PIPE;") && l.includes('|| true')), 'none can kill the job with SIGPIPE when psql died: its exit status is judged');
  t.match(job, /trap 'rc=\$\?; \[ -n "\$FINISHED" \] \|\| finish 1 "the job stopped unexpectedly/, 'any other exit still writes the status and alerts');
  t.match(job, /rm -f "\$dir"\/\.session\.\* "\$dir"\/\.dump\.err "\$dir"\/\.last "\$dir"\/\.last\.err/, 'no scratch file is shipped');
  const masters = job.split('\n').filter((l) => l.includes('ControlMaster='));
  t.equal(masters.filter((l) => l.includes('ControlMaster=yes')).length, 1, 'only open_store opens the shared connection');
  t.equal(masters.filter((l) => l.includes('ControlMaster=no')).length, 2, 'store calls and rsync only use it');
  t.match(job, /-f -N "\$STORE_USER@\$STORE_ADDR" \\\n\s+< \/dev\/null > \/dev\/null 2> "\$WORK\/\.store\.err" 4>&- 9>&-/, 'the connection never holds the lock or the session');
});

t.test('planning: a fresh database host gets key, pinned store key, job and cron; systemd hosts get a timer', async (t) => {
  const ops = (s: BackupState) => jobChanges({ inv, host: db, state: s, gate: 'ironclad_gate() { :; }', storeKnownHosts: 'k\n' }).map((c) => c.description.replace(/ \(.*$/, ''));
  t.same(ops(empty), ["create db-prod's backup key /var/lib/ironclad/backup_ed25519", 'install the pinned host key of backup-far', 'install the backup job', 'install the backup schedule *-*-* 02:15:00']);
  t.same(ops({ ...empty, systemd: true }).slice(-3), ['install the backup service unit', 'install the backup timer *-*-* 02:15:00', 'enable the backup timer']);
});

t.test('the store: restricted account, the database key may only add, the refresh key only read', async (t) => {
  const { changes, waiting } = storeChanges({ inv, store, state: empty, publicKeys: new Map([['db-prod', 'ssh-ed25519 AAAAdb db']]), refreshKeys: new Map([['staging', null]]) });
  t.same(waiting, ['staging'], 'waits for the key staging has not made yet');
  const keys = changes.find((c) => c.description.startsWith('allow'))!;
  const upload = keys.commands.find((c) => c.kind === 'upload');
  t.equal(upload && upload.kind === 'upload' && upload.content, `${authorizedKeyLine('db-prod', 'ssh-ed25519 AAAAdb db')}\n`);
  t.match(authorizedKeyLine('db-prod', 'ssh-ed25519 AAAAdb x'), /^restrict,command="\/usr\/local\/sbin\/ironclad-store" ssh-ed25519 AAAAdb ironclad-backup-from-db-prod$/);
  t.ok(changes.some((c) => /create the restricted account ironclad-backup/.test(c.description)));
});

t.test('retention on the store keeps the newest per day, week and month (the real script)', async (t) => {
  const root = tempDir('ironclad-store-');
  const dir = join(root, 'db-prod', 'app');
  const days = ['20260101', '20260102', '20260110', '20260201', '20260301', '20260315', '20260316', '20260317'];
  for (const d of days) for (const h of ['010000', '020000']) mkdirSync(join(dir, `${d}T${h}Z-db-prod-app`), { recursive: true });
  const script = renderStore(store).replace(/^ROOT=.*$/m, `ROOT='${root}'`);
  writeFileSync(join(root, 'store.sh'), script);
  execFileSync('sh', [join(root, 'store.sh'), 'prune', 'db-prod', '2', '1', '2'], { env: { PATH: process.env.PATH } });
  t.same(readdirSync(dir).sort(), ['20260316T020000Z-db-prod-app', '20260317T020000Z-db-prod-app', '20260201T020000Z-db-prod-app'].sort());
  const refused = spawnSync('sh', [join(root, 'store.sh')], { env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: 'prune db-prod 0 0 0' }, encoding: 'utf8' });
  t.not(refused.status, 0, 'the database key cannot run prune');
});
