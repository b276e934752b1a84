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
  const gate = job.indexOf('ironclad_gate) 2>&1');
  t.ok(gate > 0 && gate < job.indexOf('\nbackup_db "$1"') && gate < job.indexOf('for db in "$@"; do open_session "$db"; backup_db "$db"; done'), 'the gate passes before any dump starts');
  t.ok(job.indexOf('\nopen_session "$1"') < gate, "the first database's session opens while the gate runs (nothing reads from it before)");
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
  t.ok(job.indexOf('connected && store last "$HOST" "$db" )') < dump, 'the last good backup is asked while the dump runs');
  t.ok(job.indexOf('rc=0; wait "$asking" || rc=$?') > job.indexOf('if [ "$rows" -eq 0 ]'), '...and judged after the empty/too-few-tables refusals');
  t.equal((job.match(/names=\$\(find dump -type f \| sort\) && \[ -n "\$names" \] && set -f && sums \$names/g) ?? []).length, 1, "a directory-format dump's files are read once for their sums (the list made before set -f, which would keep a wildcard from matching)");
  t.match(job, /pg_dump -p \$PORT --snapshot=.* -F custom .*\n\s+tee -p "\$dir\/\.sum" > "\$target"/, 'a custom-format dump is summed as it is written');
  t.match(job, /tail -c \+1 -f -s 0\.02 --pid="\$dumping" "\$target"/, 'and uploaded as it grows, without pg_dump waiting for the network');
  t.match(job, /\{ cat "\$dir\/\.files" && \(cd "\$dir" && sums manifest\.json\); \} > "\$dir\/SHA256SUMS\.tmp"/);
  t.ok(job.indexOf('mv "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS"') > job.indexOf('rm -f "$dir"/.session.*'), 'SHA256SUMS (what a resumed run looks for) appears whole, after the scratch files are gone');
  const writes = job.split('\n').filter((l) => />&4\b/.test(l) && !/exec 4>/.test(l));
  t.equal(writes.length, 3, 'three writes to the counting session');
  t.ok(writes.every((l) => l.includes("(trap '' PIPE;") && l.includes('|| true')), 'none can kill the job with SIGPIPE when psql died: its exit status is judged');
  t.match(job, /trap 'rc=\$\?; \[ -n "\$FINISHED" \] \|\| finish 1 "the job stopped unexpectedly/, 'any other exit still writes the status and alerts');
  t.match(job, /rm -f "\$dir"\/\.session\.\* "\$dir"\/\.dump\.\* "\$dir"\/\.sum "\$dir"\/\.dumpsum "\$dir"\/\.tee\.err "\$dir"\/\.last "\$dir"\/\.last\.err/, 'no scratch file is shipped');
  t.notMatch(job, /[})]\s*(?:[0-9]?[<>]\S*\s+)*[49]>&-/, 'no { } or ( ) group closes the session or the lock by a redirection: its shell would keep a copy, and psql would wait for it');
  t.match(job, /^\{ open_store \|\| true; : > "\$WORK\/\.store\.opened"; \} &/m, 'the connection opened in the background leaves its mark also when it fails (set -e would end the group first, and every wait for the connection would last forever)');
  const send = job.slice(job.indexOf('\nsend() {'), job.indexOf('\n}\n', job.indexOf('\nsend() {')));
  t.ok(job.includes('&& send "$dir" "$id" manifest.json SHA256SUMS && sent=1') && !/\bsent=/.test(send), "send keeps its own flag: the caller's sent (whether rsync must resume the upload) is not overwritten by a failed send");
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

t.test('the store (the real script): a streamed upload is committed only when its checksum holds; discard and stale uploads', async (t) => {
  const { createHash } = await import('node:crypto');
  const { existsSync, readFileSync, utimesSync } = await import('node:fs');
  const root = tempDir('ironclad-store-');
  writeFileSync(join(root, 'store.sh'), renderStore(store).replace(/^ROOT=.*$/m, `ROOT='${root}'`));
  const verb = (command: string, input = '') => spawnSync('sh', [join(root, 'store.sh')], { env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: command }, input, encoding: 'utf8' });
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const upload = (id: string, streamed: string, intended: string) => {
    const manifest = `{"id":"${id}","host":"db-prod","database":"app"}\n`;
    t.equal(verb(`put ${id} dump.pgdump -`, streamed).status, 0, 'a streamed file of unknown size is accepted');
    t.ok(existsSync(join(root, 'incoming', id, '.partial', 'dump.pgdump')), '...and waits in the partial area');
    t.equal(verb(`put ${id} manifest.json ${manifest.length}`, manifest).status, 0);
    const sums = `${sha(intended)}  dump.pgdump\n${sha(manifest)}  manifest.json\n`;
    t.equal(verb(`put ${id} SHA256SUMS ${sums.length}`, sums).status, 0);
  };
  upload('20260101T020000Z-db-prod-app', 'the whole dump', 'the whole dump');
  const ok = verb('commit db-prod app 20260101T020000Z-db-prod-app');
  t.equal(ok.status, 0, ok.stderr);
  t.equal(readFileSync(join(root, 'db-prod', 'app', '20260101T020000Z-db-prod-app', 'dump.pgdump'), 'utf8'), 'the whole dump');
  upload('20260102T020000Z-db-prod-app', 'the whole d', 'the whole dump');
  const short = verb('commit db-prod app 20260102T020000Z-db-prod-app');
  t.not(short.status, 0, 'a stream that stopped short is not committed');
  t.match(short.stderr, /checksums do not match/);
  t.notOk(existsSync(join(root, 'db-prod', 'app', '20260102T020000Z-db-prod-app')));
  t.equal(verb('put 20260102T020000Z-db-prod-app dump.pgdump 3', 'abc').status, 1, 'a file already there is never overwritten by put');
  t.equal(verb('discard 20260102T020000Z-db-prod-app').status, 0);
  t.notOk(existsSync(join(root, 'incoming', '20260102T020000Z-db-prod-app')), 'a refused upload is discarded');
  t.equal(verb('discard ../db-prod/app/20260101T020000Z-db-prod-app').status, 1, 'discard names uploads only');
  t.equal(verb('discard 20260101T020000Z-db-prod-app').status, 0, 'discarding a committed id...');
  t.ok(existsSync(join(root, 'db-prod', 'app', '20260101T020000Z-db-prod-app', 'dump.pgdump')), '...leaves the backup');
  for (const [id, days] of [['20260103T020000Z-db-prod-app', 9], ['20260104T020000Z-db-prod-app', 2]] as const) {
    mkdirSync(join(root, 'incoming', id, '.partial'), { recursive: true });
    const then = new Date(Date.now() - days * 86400_000);
    utimesSync(join(root, 'incoming', id), then, then);
  }
  const pruned = spawnSync('sh', [join(root, 'store.sh'), 'prune', 'db-prod', '7', '4', '6'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
  t.match(pruned.stdout, /removed .*20260103T020000Z-db-prod-app \(never committed\)/);
  t.same(readdirSync(join(root, 'incoming')), ['20260104T020000Z-db-prod-app'], 'an upload untouched for a week goes, a recent one stays');
  t.ok(existsSync(join(root, 'db-prod', 'app', '20260101T020000Z-db-prod-app')), 'the committed backup stays');
});

t.test("job: json_str escapes quotes and backslashes, drops newlines, and forks only when it must", async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  const fn = job.slice(job.indexOf('json_str() {'), job.indexOf('\n}\n', job.indexOf('json_str() {')) + 3);
  const run = (v: string) => execFileSync('sh', ['-c', `${fn}\njson_str "$1"`, 'sh', v], { encoding: 'utf8' });
  for (const v of ['plain', 'a"b', 'back\\slash', 'two\nlines', '15.20 (Debian 15.20-0+deb12u1)', "it's", '']) t.same(JSON.parse(run(v)), v.replace(/\n/g, ''), JSON.stringify(v));
});
