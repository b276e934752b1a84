import { spawnSync, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { drillScript } from '../../src/backup/drill.js';
import { fetchScript } from '../../src/backup/fetch.js';
import { hostChanges, layoutFix, storeChanges } from '../../src/backup/operations.js';
import { authorizedKeyLine, maxBackupAge, readOnlyKeyLine, renderCron, renderJob, renderStore } from '../../src/backup/render.js';
import { storeRootLayout, type BackupState } from '../../src/facts/backup-state.js';
import { gateScript } from '../../src/instances/gate.js';
import { loadInventory } from '../../src/inventory/load.js';
import { tempDir } from '../fixtures/tmp.js';

const inv = loadInventory('inventory/lab.yaml');
const db = inv.hosts.find((h) => h.name === 'db-prod')!;
const store = inv.hosts.find((h) => h.name === 'backup-far')!;
const staging = inv.hosts.find((h) => h.name === 'staging')!;
const empty: BackupState = { publicKey: null, refreshKey: null, ageKey: null, files: {}, rsync: true, age: false, zstd: false, sudo: false, systemd: false, storeUser: { exists: false, home: null, authorizedKeys: null }, storeLayout: '' };
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
const AGE = 'age1' + 'q'.repeat(58);

t.test('the rendered job, store, fetch and drill scripts are shellcheck clean', { skip: !hasShellcheck && 'shellcheck not installed' }, async (t) => {
  const dir = tempDir('ironclad-sc-');
  writeFileSync(join(dir, 'job.sh'), renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file }));
  writeFileSync(join(dir, 'store.sh'), renderStore(store, [db]));
  writeFileSync(join(dir, 'fetch.sh'), fetchScript({ store, entry: { host: 'db-prod', database: 'app', id: '20260101T000000Z-db-prod-app' } as never, dir: '/var/lib/ironclad/refresh/x', owner: 'postgres:' }));
  writeFileSync(join(dir, 'drill.sh'), drillScript('/var/lib/ironclad/drill/x'));
  const r = spawnSync('shellcheck', ['-s', 'sh', ...['job', 'store', 'fetch', 'drill'].map((f) => join(dir, `${f}.sh`))], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout);
});

t.test('job: inventory values rendered quoted; the gate comes before any dump', async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  t.match(job, /^MIN_TABLES='3'$/m);
  t.match(job, /^MAX_SHRINK='0\.5'$/m);
  t.match(job, /^STORE_ADDR='10\.213\.7\.12'$/m);
  // the gate runs beside the start of the first dump; its verdict (gate_ok) comes before anything is judged or committed
  const gate = job.indexOf('( exec 9>&-; set +e; ironclad_gate ) > "$WORK/.gate.out" 2>&1 &');
  t.ok(gate > 0 && gate < job.indexOf('\nopen_session "$1"') && gate < job.indexOf('\nbackup_db "$1"'), 'the gate starts before the first session and dump');
  const body = job.slice(job.indexOf('\ndump_db() {'));
  const verdict = body.indexOf('    gate_ok\n    counted && prepare');
  t.ok(verdict > body.indexOf('dumping=$!') && verdict < body.indexOf('# --- the refusals'), "the gate's verdict is awaited while the dump runs, before any refusal");
  t.ok(body.indexOf('    gate_ok\n', body.indexOf('-F directory')) < body.indexOf('# --- the refusals'), 'the directory format too');
  t.ok(job.indexOf('  gate_ok\n', job.indexOf('for old in "$WORK"/*; do')) < job.indexOf('ship "$old" "$oup"'), 'an earlier upload is resumed only once the gate passed');
  t.match(job, /if \[ "\$code" -ne 0 \] && \[ -n "\$\{gating:-\}" \]; then gate_ok; fi/, 'a failure while the gate ran is judged by the gate first');
  t.equal(renderCron(db).split('\n').at(-2), '15 2 * * * root /usr/local/sbin/ironclad-backup >/dev/null 2>&1');
});

t.test("job: pg_dump's zlib level is the inventory's backup.compression, 1 when it names none, in both formats", async (t) => {
  t.match(renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file }), /^COMPRESSION='1'$/m);
  const six = { ...db, backup: { ...db.backup!, compression: 6 } };
  const job = renderJob({ host: six, store, gate: gateScript(six), inventoryFile: inv.file });
  t.match(job, /^COMPRESSION='6'$/m);
  t.equal(job.match(/ -F (custom|directory) -Z \$COMPRESSION\b/g)?.length, 2, 'every pg_dump of the job takes the level');
});

t.test('job: the row counts run in the dump\'s snapshot while pg_dump runs, committed only after it; each file summed once', async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  const counts = job.indexOf("SELECT format('SELECT ''@@counts''");
  const dump = job.indexOf('-p $PORT --snapshot=\\"\\$1\\" -F custom -Z $COMPRESSION" "$db" "$snap" "$PGBIN/pg_dump"');
  const commit = job.indexOf(`printf '%s\\n' "SELECT '@@end';" 'COMMIT;' >&4`);
  t.ok(counts > 0 && dump > counts && commit > dump, 'counts in the session before the COMMIT, which comes only after pg_dump ended');
  const custom = job.slice(dump);
  t.ok(custom.indexOf('dumping=$!') < custom.indexOf('    send_counts\n') && custom.indexOf('    send_counts\n') < custom.indexOf('    gate_ok\n'), 'custom format: pg_dump starts first, the counts are sent beside it (same transaction, before the gate is judged)');
  const directory = job.slice(job.indexOf('if [ "$FORMAT" = directory ]; then\n    # pg_dump writes'));
  t.ok(directory.indexOf('    send_counts\n') < directory.indexOf('-F directory'), 'directory format: the counts are sent before pg_dump, which runs in the foreground');
  t.notMatch(job.slice(counts, dump), /COMMIT/, 'the snapshot stays valid while pg_dump imports it');
  t.match(job, /SELECT '@@server', system_identifier, current_setting\('server_version'\) FROM pg_control_system\(\);/);
  t.match(job, /SELECT pg_backend_pid\(\) AS ironclad_pid \\gset\n\\setenv IRONCLAD_PID :ironclad_pid\n\\! renice -n 10 -p "\$IRONCLAD_PID" > \/dev\/null 2>&1 \|\| true\n/, "the counting server process yields the CPU to pg_dump's; a failed renice never stops the session (ON_ERROR_STOP)");
  t.ok(job.indexOf('connected && store last "$db" )') < dump, 'the last good backup is asked while the dump runs');
  t.ok(job.indexOf('rc=0; wait "$asking" || rc=$?') > job.indexOf('if [ "$rows" -eq 0 ]'), '...and judged after the empty/too-few-tables refusals');
  t.match(job, /su postgres -s \/bin\/sh -c 'tar -C "\$0" -cf - \.' "\$dir\/plain\/dump" 2> "\$dir\/\.dump\.err" \| age -R "\$RECIPIENTS" > "\$target"/, 'a directory-format dump is read back as postgres (never by root following a link there) and encrypted as it is read');
  t.match(job, /-p \$PORT --snapshot=.* -F custom .*"\$PGBIN\/pg_dump" .*\n\s+\{ exec 4>&- 9>&-; age -R "\$RECIPIENTS" .*\n\s+tee -p "\$dir\/\.sum" > "\$target"/, 'a custom-format dump is encrypted, then summed as it is written: no plaintext byte is written or sent');
  t.match(job, /^PGBIN=\/usr\/lib\/postgresql\/\$PGVERSION\/bin\n\[ -x "\$PGBIN\/psql" \] && \[ -x "\$PGBIN\/pg_dump" \] \|\| PGBIN=\/usr\/bin$/m, "the cluster's own psql and pg_dump (not pg_wrapper's Perl), else the wrapper");
  t.notMatch(job, /-c "(psql|pg_dump) /, 'no psql or pg_dump through the wrapper');
  t.match(job, /printf '\{"tables":%s,"rows":%s,"counting":"leaf","row_counts":%s\}\\n' .* \| age -R "\$RECIPIENTS" > "\$dir\/counts\.json\.age"/, 'the table names travel encrypted, counted once each');
  t.match(job, /\[ -n "\$last_id" \] && \[ "\$last_id" = "\$\(cat "\$WORK\/\.leaf\.\$db" 2> \/dev\/null\)" \] \|\| now_rows=\$\{parents_rows:-\$rows\}/, 'the shrink rule counts as the last backup counted (its id in .leaf.DB: once each)');
  t.ok(job.indexOf('good "$db" "$id"\n  printf \'%s\\n\' "$id" > "$WORK/.leaf.$db"') > 0, 'a committed backup is recorded as counted once each');
  t.notMatch(job.slice(job.indexOf('} > "$dir/manifest.json"') - 800, job.indexOf('} > "$dir/manifest.json"')), /row_counts/, 'the manifest the store reads names no table');
  t.match(job, /tail -c \+1 -f -s 0\.02 --pid="\$dumping" "\$target"/, 'and uploaded as it grows, without pg_dump waiting for the network');
  t.match(job, /\{ cat "\$dir\/\.files" && \(cd "\$dir" && sums manifest\.json\); \} > "\$dir\/SHA256SUMS\.tmp"/);
  t.match(job, /^\s+mkdir -m 711 "\$dir"/m, "the backup's folder is root's; postgres only passes through");
  t.ok(job.indexOf('mv "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS"') > job.indexOf('rm -f "$dir"/.session.*'), 'SHA256SUMS (what a resumed run looks for) appears whole, after the scratch files are gone');
  const writes = job.split('\n').filter((l) => />&4\b/.test(l) && !/exec 4>/.test(l));
  t.equal(writes.length, 3, 'three writes to the counting session');
  t.ok(writes.every((l) => l.includes("(trap '' PIPE;") && l.includes('|| true')), 'none can kill the job with SIGPIPE when psql died: its exit status is judged');
  t.match(job, /trap 'rc=\$\?; \[ -n "\$FINISHED" \] \|\| finish 1 "the job stopped unexpectedly/, 'any other exit still writes the status and alerts');
  t.match(job, /rm -f "\$dir"\/\.session\.\* "\$dir"\/\.dump\.\* "\$dir"\/\.age\.\* "\$dir"\/\.sum "\$dir"\/\.dumpsum "\$dir"\/\.tee\.err "\$dir"\/\.last "\$dir"\/\.last\.err/, 'no scratch file is shipped');
  t.notMatch(job, /[})]\s*(?:[0-9]?[<>]\S*\s+)*[49]>&-/, 'no { } or ( ) group closes the session or the lock by a redirection: its shell would keep a copy, and psql would wait for it');
  t.match(job, /^\{ open_store \|\| true; : > "\$WORK\/\.store\.opened"; \} &/m, 'the connection opened in the background leaves its mark also when it fails (set -e would end the group first, and every wait for the connection would last forever)');
  const ship = job.slice(job.indexOf('  committed=\'\'\n'), job.indexOf('  DONE_IDS="${DONE_IDS:+$DONE_IDS }$id"'));
  t.match(ship, /id=\$\(commit "\$dir" "\$up" "\$db" counts\.json\.age manifest\.json SHA256SUMS\) \|\| ccode=\$\?/, 'the three small files go up with the commit, in one call');
  t.match(ship, /\[ "\$ccode" -ne 3 \] \|\| finish 1/, 'a refused commit ends the run (its local copy is gone)');
  t.match(ship, /if \[ -z "\$committed" \]; then[^\n]*\n(.*\n)*\s+ship "\$dir" "\$up" \|\| finish 1[^\n]*\n\s+id=\$\(commit "\$dir" "\$up" "\$db"\) \|\| finish 1/, 'otherwise rsync resumes what arrived and the commit is asked again');
  t.notMatch(job.slice(job.indexOf('\ncommit() {'), job.indexOf('\n}\n', job.indexOf('\ncommit() {'))), /\b(committed|ccode)=/, "commit keeps its own code: the caller's flags are not overwritten");
  const masters = job.split('\n').filter((l) => l.includes('ControlMaster='));
  t.equal(masters.filter((l) => l.includes('ControlMaster=yes')).length, 1, 'only open_store opens the shared connection');
  t.equal(masters.filter((l) => l.includes('ControlMaster=no')).length, 2, 'store calls and rsync only use it');
  t.match(job, /-f -N "\$STORE_USER@\$STORE_ADDR" \\\n\s+< \/dev\/null > \/dev\/null 2> "\$WORK\/\.store\.err" 4>&- 9>&-/, 'the connection never holds the lock or the session');
});

t.test('planning: a fresh database host gets tools, keys, its identity, pinned stores, recipients (when known), job and cron', async (t) => {
  const role = { host: db, store, restores: true, knownHosts: 'k\n', recipients: [{ name: 'db-prod', key: null }, { name: 'staging', key: AGE }] };
  const { changes, waiting } = hostChanges({ role, state: empty, gate: 'ironclad_gate() { :; }', inventoryFile: inv.file });
  t.same(changes.map((c) => c.description.replace(/ \(.*$/, '')), [
    'install age, zstd',
    "create db-prod's backup key /var/lib/ironclad/backup_ed25519",
    "create db-prod's read key /var/lib/ironclad/refresh_ed25519",
    "create db-prod's age identity /var/lib/ironclad/age-identity",
    'install the pinned host keys of the backup stores',
    'install the age recipients of its backups',
    'install the backup job',
    'install the backup schedule *-*-* 02:15:00',
  ]);
  t.same(waiting, ['db-prod'], "waits for its own identity's key (made by this very apply)");
  const recipients = changes.find((c) => c.description.startsWith('install the age recipients'))!.commands[0];
  t.equal(recipients.kind === 'upload' && recipients.content, `# staging\n${AGE}\n`, 'only keys it knows');
  const target = hostChanges({ role: { host: staging, restores: true, knownHosts: 'k\n', recipients: [] }, state: { ...empty, age: true }, gate: '', inventoryFile: inv.file });
  t.same(target.changes.map((c) => c.description.replace(/ \(.*$/, '')), ['install zstd', "create staging's read key /var/lib/ironclad/refresh_ed25519", "create staging's age identity /var/lib/ironclad/age-identity", 'install the pinned host keys of the backup stores'], 'a refresh target: no job, no backup key');
});

t.test('the store: its account, the sudo rule for commit only, root owns keys and backups, each key its own verbs', async (t) => {
  const { changes, waiting } = storeChanges({ store, clients: [db], state: empty, clientKeys: new Map([['db-prod', 'ssh-ed25519 AAAAdb db']]), readers: [{ name: 'staging', key: null, sources: ['db-prod'] }, { name: 'db-prod', key: 'ssh-ed25519 AAAAro x', sources: ['db-prod'] }] });
  t.same(waiting, ['staging'], 'waits for the key staging has not made yet');
  t.same(changes.map((c) => c.operation + ': ' + c.description.replace(/ \(.*$/, '').slice(0, 40)), [
    'store: install sudo',
    'store: create the restricted account ironclad-backup',
    "store: install the store's script",
    'store: allow ironclad-backup to ask root for a commit',
    'store: make root the owner of /var/lib/ironclad-backup/',
    'store: allow db-prod to add',
    'store: install retention',
    "store: install the store's health check",
  ].map((s) => s.slice(0, 7 + 40)));
  const keys = changes.find((c) => c.description.startsWith('allow db-prod'))!.commands[0];
  t.equal(keys.kind === 'upload' && keys.owner, 'root:root', 'authorized_keys belongs to root: the account cannot add a key');
  t.equal(keys.kind === 'upload' && keys.content, `${authorizedKeyLine('db-prod', 'ssh-ed25519 AAAAdb db')}\n${readOnlyKeyLine('db-prod', 'ssh-ed25519 AAAAro x', ['db-prod'])}\n`);
  t.match(authorizedKeyLine('db-prod', 'ssh-ed25519 AAAAdb x'), /^restrict,command="\/usr\/local\/sbin\/ironclad-store client db-prod" ssh-ed25519 AAAAdb ironclad-backup-from-db-prod$/);
  t.match(readOnlyKeyLine('staging', 'ssh-ed25519 AAAAst x', ['db-prod', 'db-two']), /^restrict,command="\/usr\/local\/sbin\/ironclad-store reader db-prod,db-two" ssh-ed25519 AAAAst ironclad-read-by-staging$/);
  const sudo = changes.find((c) => c.description.startsWith('allow ironclad-backup to ask root'))!.commands[0];
  t.match(sudo.kind === 'sh' && sudo.stdin, /^ironclad-backup ALL=\(root\) NOPASSWD: \/usr\/local\/sbin\/ironclad-store commit \*$/m);
  t.match(sudo.kind === 'sh' && sudo.script, /visudo -q -c -f "\$t" && install -m 440/, 'checked by visudo before it is installed (a broken sudoers file would lock root out of sudo)');
});

t.test('the store layout: nothing to do when every path is as it should be; a committed backup the account owns is adopted', async (t) => {
  const home = '/var/lib/ironclad-backup';
  const seen = [`${home} root root 755`, `${home}/.ssh root root 755`, ...storeRootLayout(store, ['db-prod']).map(([p, how]) => `${p} ${how}`)].join('\n');
  t.equal(layoutFix(store, home, ['db-prod'], seen), undefined);
  const fix = layoutFix(store, home, ['db-prod'], seen.replace(`${home}/.ssh root root 755`, `${home}/.ssh ironclad-backup ironclad-backup 700`) + '\nFOREIGN /srv/ironclad/backups/db-prod');
  t.match(fix?.description, /fixes: \/var\/lib\/ironclad-backup\/.ssh root; FOREIGN \/srv\/ironclad\/backups\/db-prod/);
  t.match(fix?.commands[0].kind === 'sh' && fix.commands[0].script, /chown -R root:ironclad-backup \/srv\/ironclad\/backups\/db-prod/);
  t.match(fix?.commands[0].kind === 'sh' && fix.commands[0].script, /rm -f \/var\/lib\/ironclad-backup\/.ssh\/authorized_keys2/);
});

t.test('health: a daily schedule may be 26 h old by default, the grace is the inventory\'s', async (t) => {
  t.equal(maxBackupAge('*-*-* 02:15:00'), 86400 + 7200);
  t.equal(maxBackupAge('*-*-* 02:15:00', '30m'), 86400 + 1800);
  t.equal(maxBackupAge('Mon *-*-* 02:15:00'), 7 * 86400 + 7200);
});

t.test("job: json_str escapes quotes and backslashes, drops newlines, and forks only when it must", async (t) => {
  const job = renderJob({ host: db, store, gate: gateScript(db), inventoryFile: inv.file });
  const fn = job.slice(job.indexOf('json_str() {'), job.indexOf('\n}\n', job.indexOf('json_str() {')) + 3);
  const run = (v: string) => execFileSync('sh', ['-c', `${fn}\njson_str "$1"`, 'sh', v], { encoding: 'utf8' });
  for (const v of ['plain', 'a"b', 'back\\slash', 'two\nlines', '15.20 (Debian 15.20-0+deb12u1)', "it's", '']) t.same(JSON.parse(run(v)), v.replace(/\n/g, ''), JSON.stringify(v));
});
