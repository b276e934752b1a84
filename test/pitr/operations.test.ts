// The planners of continuous archiving, from canned facts: what a database host and its store get, and that a host as
// it should be gets nothing (a second apply changes nothing).
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import type { Host } from '../../src/inventory/types.js';
import { scramVerifier } from '../../src/operations/scram.js';
import { archivingPassword, dbChanges, storeChanges } from '../../src/pitr/operations.js';
import { PITR_PATHS, pitrOf, renderHeartbeatCron, renderPitrConf, renderPitrCron, renderPitrHba, renderPitrStore, renderPitrSudoers, renderPitrUnit } from '../../src/pitr/render.js';
import type { PitrDbState, PitrStoreState } from '../../src/pitr/state.js';
import { parseDbState, parseStoreState, pgpassPassword } from '../../src/pitr/state.js';

const inv = loadInventory('inventory/lab.yaml');
const db = inv.hosts.find((h) => h.name === 'db-prod')!;
const store = inv.hosts.find((h) => h.name === 'backup-far')!;
const PW = 'a'.repeat(48);
const descr = (cs: { description: string }[]) => cs.map((c) => c.description);

const converged = (): PitrDbState => ({
  online: true,
  conf: renderPitrConf(db),
  hbaBlock: renderPitrHba(store),
  role: { login: true, replication: true, superuser: false, verifier: scramVerifier(PW) },
  slot: { walStatus: 'reserved', retainedBytes: 1024, active: true },
  heartbeatTable: true,
  heartbeatCron: renderHeartbeatCron(db),
  walLevel: 'replica',
});

t.test('a database host: each missing part is one change, a converged host none', async (t) => {
  const cases: [string, Partial<PitrDbState>, string | null, RegExp[]][] = [
    ['converged', {}, PW, []],
    ['a fresh cluster', { conf: null, hbaBlock: '', role: null, slot: null, heartbeatTable: false, heartbeatCron: null }, PW, [/install the archiving settings/, /let backup-far \(10\.213\.7\.12\) alone open a replication connection/, /create role ironclad_wal/, /create the physical replication slot/, /create ironclad\.heartbeat/, /install the heartbeat/]],
    ['a role with another password', { role: { login: true, replication: true, superuser: false, verifier: scramVerifier('other') } }, PW, [/alter role ironclad_wal/]],
    ['a role made superuser by someone', { role: { login: true, replication: true, superuser: true, verifier: scramVerifier(PW) } }, PW, [/alter role ironclad_wal/]],
    ['the store not contacted: the role waits, the rest goes on', { role: null, slot: null }, null, [/create the physical replication slot/]],
    ['the store not contacted, the role as it should be: nothing (plan --limit db-prod converges)', {}, null, []],
    ['server down: files only', { online: false, role: undefined, slot: undefined, heartbeatTable: undefined, conf: null }, PW, [/install the archiving settings/]],
  ];
  for (const [what, over, pw, expected] of cases) {
    const { changes, waiting } = dbChanges({ host: db, store, state: { ...converged(), ...over }, password: pw });
    t.equal(changes.length, expected.length, `${what}: ${descr(changes).join(' | ')}`);
    expected.forEach((re, i) => t.match(changes[i]?.description, re, what));
    if (pw === null && over.role === null) t.match(waiting[0], /backup-far/, `${what}: waits for the store`);
    if (pw === null && over.role === undefined) t.same(waiting, [], `${what}: nothing waits`);
  }
});

t.test('the role: replication and login only, its password never in a description, set as a verifier', async (t) => {
  const { changes } = dbChanges({ host: db, store, state: { ...converged(), role: null }, password: PW });
  const sql = changes[0].commands[0];
  t.equal(sql.kind, 'sql');
  if (sql.kind === 'sql') {
    t.match(sql.sql, /^CREATE ROLE ironclad_wal LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'SCRAM-SHA-256\$4096:/);
    t.notMatch(sql.sql, PW, 'no clear password');
  }
  t.notMatch(JSON.stringify(changes.map((c) => c.description)), PW);
});

t.test('the pg_hba block: only the store\'s address, replication only; replaced in place, text outside kept', async (t) => {
  t.equal(renderPitrHba(store), '# BEGIN ironclad pitr\nhost\treplication\tironclad_wal\t10.213.7.12/32\tscram-sha-256\n# END ironclad pitr\n');
  const { changes } = dbChanges({ host: db, store, state: { ...converged(), hbaBlock: '# BEGIN ironclad pitr\nhost replication ironclad_wal 0.0.0.0/0 trust\n# END ironclad pitr\n' }, password: PW });
  t.equal(changes.length, 1);
  const cmd = changes[0].commands[0];
  t.ok(cmd.kind === 'sh' && cmd.stdin === renderPitrHba(store), 'the new block on stdin');
  t.match(changes[0].commands[1], { kind: 'sql', sql: 'SELECT pg_reload_conf();' }, 'then a reload');
});

t.test('settings: max_slot_wal_keep_size from the inventory, 10GB by default', async (t) => {
  t.match(renderPitrConf(db), /^max_slot_wal_keep_size = '10GB'$/m);
  t.match(renderPitrConf(db), /^tcp_user_timeout = 30000$/m, 'a dead store\'s walsender cannot hold the slot (and stall checkpoints) for TCP\'s 15 minutes');
  t.match(renderPitrConf({ ...db, pitr: { max_slot_wal_keep_size: '64MB' } } as Host), /^max_slot_wal_keep_size = '64MB'$/m);
  t.same(pitrOf(db), { maxSlotWalKeepSize: '10GB', baseSchedule: db.backup!.schedule, retention: { bases: 2, days: 7 }, stallSeconds: 600 });
  t.equal(pitrOf({ ...db, pitr: { enabled: false } } as Host), null, 'an inventory may turn it off');
  t.equal(pitrOf(store), null, 'no backup: section, no archiving');
});

const storeState = (over: Partial<PitrStoreState> = {}): PitrStoreState => ({
  files: { [PITR_PATHS.script]: renderPitrStore(store, [db]), [PITR_PATHS.cron]: renderPitrCron([db], false), [PITR_PATHS.unit]: null, [PITR_PATHS.sudoers]: renderPitrSudoers(store) },
  systemd: false,
  tools: { receivewal: true, waldump: true, age: true, zstd: true, sudo: true },
  clients: { 'db-prod': { pgpass: `10.213.7.10:5432:*:ironclad_wal:${PW}\n`, recipients: '# db-prod\nage1xyz\n', receiving: true, hasBase: true, spoolOwner: 'ironclad-pitr-db-prod', userShell: '/usr/sbin/nologin' } },
  pitrDir: 'root ironclad-backup 2750',
  ...over,
});

t.test('a store: each missing part is one change, a converged store none', async (t) => {
  const run = (state: PitrStoreState, recipients: string | null = '# db-prod\nage1xyz\n') =>
    storeChanges({ store, clients: [db], state, passwords: new Map([['db-prod', archivingPassword(state, 'db-prod', 'b'.repeat(48))]]), recipients: new Map([['db-prod', recipients]]) });
  t.same(descr(run(storeState()).changes), [], 'converged');
  const fresh = run(storeState({ files: {}, tools: { receivewal: false, waldump: false, age: true, zstd: false, sudo: true }, clients: {}, pitrDir: null }));
  t.match(descr(fresh.changes), [/install postgresql-client-15, postgresql-15, zstd/, /create the system user ironclad-pitr-db-prod \(for db-prod\), no shell, no home: pg_receivewal, pg_basebackup .* run as the host's own user, never as root/, /make .*\/pitr root's/, /install the store's archiving script/, /let ironclad-backup have root encrypt/, /make db-prod's archiving password/, /install the age recipients of db-prod/, /install the receivers, base backups/, /start the WAL receiver of db-prod now/, /take the first base backup of db-prod/]);
  const pgpass = fresh.changes.find((c) => /archiving password/.test(c.description))!.commands[0];
  t.match(pgpass, { kind: 'upload', path: '/var/lib/ironclad/pitr/db-prod.pgpass', mode: '600', owner: 'root:root' });
  t.equal(pgpass.kind === 'upload' && pgpassPassword(pgpass.content), 'b'.repeat(48), 'the fresh password is written to the store');
  t.match(descr(run(storeState({ clients: { 'db-prod': { ...storeState().clients['db-prod'], receiving: false } } })).changes), [/start the WAL receiver of db-prod now/], 'a stopped receiver is started');
  const noKeys = run(storeState({ clients: { 'db-prod': { ...storeState().clients['db-prod'], recipients: null, receiving: false } } }), null);
  t.same(descr(noKeys.changes), [], 'no recipients known: nothing to encrypt to, no receiver');
  t.match(noKeys.waiting, [/db-prod's recipients/]);
  const sysd = run(storeState({ systemd: true, files: { ...storeState().files, [PITR_PATHS.cron]: renderPitrCron([db], true) } }));
  t.match(descr(sysd.changes), [/install the WAL receiver unit/, /run a WAL receiver for db-prod \(systemd\)/]);
  t.notMatch(renderPitrCron([db], true), /receive db-prod/, 'systemd supervises the receiver, cron does not');
  t.match(renderPitrCron([db], false), /^\* \* \* \* \* root \/usr\/local\/sbin\/ironclad-pitr receive db-prod /m);
  t.match(renderPitrCron([db], false), /^15 2 \* \* \* root \/usr\/local\/sbin\/ironclad-pitr base db-prod .* prune db-prod 2 7/m, 'base backups at the backup schedule, retention after');
  const newScript = run(storeState({ files: { ...storeState().files, [PITR_PATHS.script]: 'old' } }));
  t.match(newScript.changes[0].commands[1], { kind: 'sh', script: /kill "\$p"; flock -w 60 \/run\/ironclad-pitr\/db-prod\.lock true; setsid \/usr\/local\/sbin\/ironclad-pitr receive db-prod / }, 'a new script restarts the running receiver once the old one let go of its lock');
  const newScriptSd = run(storeState({ systemd: true, files: { ...storeState().files, [PITR_PATHS.script]: 'old', [PITR_PATHS.cron]: renderPitrCron([db], true), [PITR_PATHS.unit]: renderPitrUnit() } }));
  t.match(newScriptSd.changes[0].commands[1], { kind: 'sh', script: /^systemctl try-restart ironclad-pitr-receive@db-prod\.service$/m }, 'under systemd, its unit restarts');
});

t.test('the archiving user, one per database host: made when missing, its login shell taken; a spool root made or the shared user\'s is handed over, planned', async (t) => {
  const run = (state: PitrStoreState) => storeChanges({ store, clients: [db], state, passwords: new Map([['db-prod', archivingPassword(state, 'db-prod', 'b'.repeat(48))]]), recipients: new Map([['db-prod', '# db-prod\nage1xyz\n']]) }).changes;
  const client = storeState().clients['db-prod'];
  const made = run(storeState({ clients: { 'db-prod': { ...client, userShell: null } } }));
  t.match(descr(made), [/^create the system user ironclad-pitr-db-prod \(for db-prod\)/]);
  const sh = made[0].commands[0];
  t.match(sh, { kind: 'sh', script: /useradd --system \$g --no-create-home --home-dir \/nonexistent --shell \/usr\/sbin\/nologin ironclad-pitr-db-prod$/m });
  t.match(descr(run(storeState({ clients: { 'db-prod': { ...client, userShell: '/bin/bash' } } }))), [/^take the login shell from ironclad-pitr-db-prod \(\/bin\/bash\)/], 'a user someone gave a shell loses it');
  const two = storeChanges({ store, clients: [db, { ...db, name: 'Db.Two' }], state: storeState(), passwords: new Map(), recipients: new Map() }).changes;
  t.match(descr(two)[0], /create the system user ironclad-pitr_[0-9a-f]{12} \(for Db\.Two\)/, 'a host name useradd would not take: a name of its hash');
  const shared = run(storeState({ clients: { 'db-prod': { ...client, spoolOwner: 'ironclad-pitr' } } }));
  t.match(descr(shared), [/^restart the WAL receiver of db-prod; the spool of db-prod \(now ironclad-pitr's\) goes to ironclad-pitr-db-prod/], 'the shared user\'s spool (before each host had its own) is handed over');
  const rootSpool = run(storeState({ clients: { 'db-prod': { ...client, spoolOwner: 'root' } } }));
  t.match(descr(rootSpool), [/^restart the WAL receiver of db-prod; the spool of db-prod \(now root's\) goes to ironclad-pitr-db-prod: pg_receivewal runs as the host's own user from then on, never root$/]);
  t.match(rootSpool[0].commands[0], { kind: 'sh', script: /kill "\$p"; flock -w 60 .* setsid \/usr\/local\/sbin\/ironclad-pitr receive db-prod / });
  const both = run(storeState({ files: { ...storeState().files, [PITR_PATHS.script]: 'old' }, clients: { 'db-prod': { ...client, spoolOwner: 'root' } } }));
  t.match(descr(both), [/^update the store's archiving script \(running receivers restart; the spool of db-prod \(now root's\) goes to ironclad-pitr-db-prod\)/], 'with a new script: one restart, said there');
  t.equal(both.length, 1);
  t.same(descr(run(storeState({ clients: { 'db-prod': { ...client, spoolOwner: 'root', receiving: false } } }))), ['start the WAL receiver of db-prod now (cron keeps it running); the spool of db-prod (now root\'s) goes to ironclad-pitr-db-prod'], 'a receiver not running: the one started takes its spool');
  t.same(descr(run(storeState({ clients: { 'db-prod': { ...client, spoolOwner: null } } }))), [], 'no spool yet: nothing');
});

t.test('facts: parsed from sections; a pgpass line not of ironclad\'s shape holds no password', async (t) => {
  const sec = (o: Record<string, [number, string]>) => new Map(Object.entries(o).map(([k, [code, stdout]]) => [k, { code, stdout }]));
  const s = parseDbState(sec({ conf: [0, 'x'], hba: [0, ''], heartbeat_cron: [1, ''], sql: [0, `role\tt\tt\tf\tSCRAM-SHA-256$4096:abc\nslot\treserved\t16777216\tt\nheartbeat\tt\nwal_level\treplica\n`] }));
  t.match(s, { online: true, role: { login: true, replication: true, superuser: false }, slot: { walStatus: 'reserved', retainedBytes: 16777216, active: true }, heartbeatTable: true, walLevel: 'replica', heartbeatCron: null });
  t.match(parseDbState(sec({ sql: [3, ''] })), { online: false, role: undefined, slot: undefined });
  t.match(parseDbState(sec({ sql: [0, 'heartbeat\tf\n'] })), { role: null, slot: null, heartbeatTable: false });
  t.equal(pgpassPassword('10.0.0.1:5432:*:ironclad_wal:' + PW), PW);
  t.equal(pgpassPassword('10.0.0.1:5432:*:postgres:' + PW), null);
  t.equal(pgpassPassword('x:5432:*:ironclad_wal:short'), null);
  const st = parseStoreState(sec({ tools: [0, 'receivewal\nage\n'], pitr_dir: [0, 'root b 2750\n'], pgpass_a: [0, 'x'], recipients_a: [1, ''], receiving_a: [0, ''], base_a: [1, ''], spool_a: [0, 'root\n'], user_a: [0, '/usr/sbin/nologin\n'] }), ['db-prod']);
  t.match(st, { tools: { receivewal: true, waldump: false, age: true, sudo: false }, pitrDir: 'root b 2750', clients: { 'db-prod': { pgpass: 'x', recipients: null, receiving: true, hasBase: false, spoolOwner: 'root', userShell: '/usr/sbin/nologin' } } });
  t.match(parseStoreState(sec({ user_a: [1, ''], spool_a: [1, ''] }), ['db-prod']), { clients: { 'db-prod': { spoolOwner: null, userShell: null } } }, 'no user, an empty spool');
});
