// What continuous archiving needs to know of a host, read-only, in one round trip each: on a database host its
// archiving settings, pg_hba block, role, slot and heartbeat; on a store its script, cron, sudo rule, units, and per
// database host the password file, recipients and spool owner, and its archiving user. Commands + pure parsers, like every fact.
import type { Connector } from '../connectors/types.js';
import { shq } from '../core/quote.js';
import { registerSecret } from '../core/secrets.js';
import { clusterPaths } from '../facts/cluster-state.js';
import { buildFactScript, newNonce, splitSections } from '../facts/script.js';
import type { Host } from '../inventory/types.js';
import { PITR_CONF_FILE, PITR_PATHS, PITR_ROLE, PITR_SLOT, pitrUser } from './render.js';

type Sections = Map<string, { code: number; stdout: string }>;
const ok = (s: Sections, n: string) => (s.get(n)?.code === 0 ? s.get(n)!.stdout : null);

/** The database side. `online` false: the server did not answer, so role, slot and heartbeat are unknown (null). */
export interface PitrDbState {
  online: boolean;
  conf: string | null;
  hbaBlock: string;
  role: { login: boolean; replication: boolean; superuser: boolean; verifier: string } | null | undefined;
  slot: { walStatus: string; retainedBytes: number | null; active: boolean } | null | undefined;
  heartbeatTable: boolean | undefined;
  heartbeatCron: string | null;
  walLevel: string | null;
}

/** The store side. */
export interface PitrStoreState {
  files: Record<string, string | null>;
  systemd: boolean;
  tools: { receivewal: boolean; waldump: boolean; age: boolean; zstd: boolean; sudo: boolean };
  /** Per database host: its password file (secret) and recipients, as the store has them; `spoolOwner`: who owns a
   *  spool that holds something (null: none yet, or empty). */
  /** `userShell`: the login shell of the host's own receiving user (pitrUser), or null when the store has no such user. */
  clients: Record<string, { pgpass: string | null; recipients: string | null; receiving: boolean; hasBase: boolean; spoolOwner: string | null; userShell: string | null }>;
  /** `owner group mode` of ROOT/pitr, or null when absent. */
  pitrDir: string | null;
}

const pgFile = (host: Host) => `${clusterPaths(host.postgres!).confDir}/conf.d/${PITR_CONF_FILE}`;
/** Where the archiving settings of a database host live. */
export const pitrConfPath = pgFile;

const DB_SQL = [
  `SELECT 'role', rolcanlogin, rolreplication, rolsuper, coalesce(rolpassword, '') FROM pg_authid WHERE rolname = '${PITR_ROLE}'`,
  `SELECT 'slot', coalesce(wal_status, ''), coalesce((pg_current_wal_lsn() - restart_lsn)::bigint::text, ''), active FROM pg_replication_slots WHERE slot_name = '${PITR_SLOT}'`,
  `SELECT 'heartbeat', to_regclass('ironclad.heartbeat') IS NOT NULL`,
  `SELECT 'wal_level', current_setting('wal_level')`,
].join('; ');

/** The read-only commands of a database host. */
export function dbStateCommands(host: Host): { name: string; command: string }[] {
  const pg = host.postgres!;
  const p = clusterPaths(pg);
  return [
    // (read as postgres, whose files these are: a link to a file of root's shows nothing of it)
    { name: 'conf', command: `[ -f ${shq(pgFile(host))} ] || exit 1; runuser -u postgres -- cat ${shq(pgFile(host))}` },
    { name: 'hba', command: `runuser -u postgres -- sed -n '/^# BEGIN ironclad pitr$/,/^# END ironclad pitr$/p' ${shq(p.hba)} 2>/dev/null; true` },
    { name: 'heartbeat_cron', command: `[ -f ${PITR_PATHS.heartbeatCron} ] || exit 1; cat ${PITR_PATHS.heartbeatCron}` },
    { name: 'sql', command: `cd / && su postgres -s /bin/sh -c ${shq(`psql -X -A -t -q -F '\t' -p ${pg.port} -d postgres -c ${shq(DB_SQL)}`)} 2>/dev/null || exit 3` },
  ];
}

/** Pure: a database host's sections back to its state. */
export function parseDbState(s: Sections): PitrDbState {
  const sql = ok(s, 'sql');
  const rows = (sql ?? '').split('\n').map((l) => l.split('\t'));
  const row = (k: string) => rows.find((r) => r[0] === k);
  const role = row('role');
  const slot = row('slot');
  if (role?.[4]) registerSecret(role[4]);
  const online = sql !== null;
  return {
    online,
    conf: ok(s, 'conf'),
    hbaBlock: ok(s, 'hba') ?? '',
    role: !online ? undefined : role ? { login: role[1] === 't', replication: role[2] === 't', superuser: role[3] === 't', verifier: role[4] ?? '' } : null,
    slot: !online ? undefined : slot ? { walStatus: slot[1], retainedBytes: /^\d+$/.test(slot[2] ?? '') ? Number(slot[2]) : null, active: slot[3] === 't' } : null,
    heartbeatTable: !online ? undefined : row('heartbeat')?.[1] === 't',
    heartbeatCron: ok(s, 'heartbeat_cron'),
    walLevel: row('wal_level')?.[1] ?? null,
  };
}

/** The files of a store the plan compares. */
export const STORE_FILES = { script: PITR_PATHS.script, cron: PITR_PATHS.cron, unit: PITR_PATHS.unit, sudoers: PITR_PATHS.sudoers } as const;

/** A section name for the i-th client (section names are letters and underscores). */
const tag = (i: number): string => (i < 26 ? String.fromCharCode(97 + i) : tag(Math.floor(i / 26) - 1) + String.fromCharCode(97 + (i % 26)));

/** The read-only commands of a store (`clients`: the database hosts that archive there, names checked by the inventory). */
export function storeStateCommands(store: Host, clients: string[], pgVersion: number): { name: string; command: string }[] {
  const bin = `/usr/lib/postgresql/${pgVersion}/bin`;
  return [
    ...Object.entries(STORE_FILES).map(([n, p]) => ({ name: `file_${n}`, command: `[ -f ${p} ] || exit 1; cat ${p}` })),
    { name: 'tools', command: `[ -x ${bin}/pg_receivewal ] && echo receivewal; [ -x ${bin}/pg_waldump ] && echo waldump; command -v age >/dev/null && echo age; command -v zstd >/dev/null && echo zstd; command -v sudo >/dev/null && echo sudo; [ -d /run/systemd/system ] && echo systemd; true` },
    { name: 'pitr_dir', command: `stat -c '%U %G %a' ${shq(`${store.backup_store!.path}/pitr`)} 2>/dev/null || exit 1` },
    ...clients.flatMap((c, i) => [
      { name: `pgpass_${tag(i)}`, command: `cat ${shq(`${PITR_PATHS.conf}/${c}.pgpass`)} 2>/dev/null || exit 1` },
      { name: `recipients_${tag(i)}`, command: `cat ${shq(`${PITR_PATHS.conf}/${c}.recipients`)} 2>/dev/null || exit 1` },
      { name: `base_${tag(i)}`, command: `[ -n "$(find ${shq(`${store.backup_store!.path}/pitr/${c}/base`)} -mindepth 1 -maxdepth 1 ! -name '.*' -print -quit 2>/dev/null)" ]` },
      { name: `receiving_${tag(i)}`, command: `p=$(cat ${shq(`${PITR_PATHS.spool}/${c}.pid`)} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null` },
      { name: `user_${tag(i)}`, command: `getent passwd ${pitrUser(c)} | cut -d: -f7 | grep . || exit 1` },
      { name: `spool_${tag(i)}`, command: `d=${shq(`${PITR_PATHS.spool}/${c}`)}; [ -n "$(ls -A "$d" 2>/dev/null)" ] || exit 1; stat -c %U "$d"` },
    ]),
  ];
}

/** Pure: a store's sections back to its state; the passwords it holds are registered as secrets (masked). */
export function parseStoreState(s: Sections, clients: string[]): PitrStoreState {
  const files: Record<string, string | null> = {};
  for (const [n, p] of Object.entries(STORE_FILES)) files[p] = ok(s, `file_${n}`);
  const tools = ok(s, 'tools') ?? '';
  const has = (t: string) => new RegExp(`^${t}$`, 'm').test(tools);
  const out: PitrStoreState['clients'] = {};
  for (const [i, c] of clients.entries()) {
    const pgpass = ok(s, `pgpass_${tag(i)}`);
    const pw = pgpassPassword(pgpass);
    if (pw) registerSecret(pw);
    out[c] = { pgpass, recipients: ok(s, `recipients_${tag(i)}`), receiving: s.get(`receiving_${tag(i)}`)?.code === 0, hasBase: s.get(`base_${tag(i)}`)?.code === 0, spoolOwner: ok(s, `spool_${tag(i)}`)?.trim() || null, userShell: ok(s, `user_${tag(i)}`)?.trim() || null };
  }
  return {
    files,
    systemd: has('systemd'),
    tools: { receivewal: has('receivewal'), waldump: has('waldump'), age: has('age'), zstd: has('zstd'), sudo: has('sudo') },
    clients: out,
    pitrDir: ok(s, 'pitr_dir')?.trim() || null,
  };
}

/** The password of a pgpass line ironclad wrote (`addr:port:*:ironclad_wal:HEX`), or null. */
export function pgpassPassword(text: string | null): string | null {
  const m = /^[^:\n]*:\d+:\*:ironclad_wal:([0-9a-f]{32,128})$/m.exec(text ?? '');
  return m ? m[1] : null;
}

async function gather<T>(conn: Connector, cmds: { name: string; command: string }[], parse: (s: Sections) => T): Promise<T> {
  const nonce = newNonce();
  const r = await conn.run(buildFactScript(cmds, nonce));
  return parse(splitSections(r.stdout, nonce));
}

/** A database host's archiving state, in one round trip. */
export const gatherDbState = (conn: Connector, host: Host) => gather(conn, dbStateCommands(host), parseDbState);

/** A store's archiving state, in one round trip. */
export const gatherStoreState = (conn: Connector, store: Host, clients: Host[]) =>
  gather(conn, storeStateCommands(store, clients.map((c) => c.name), Math.max(15, ...clients.map((c) => c.postgres!.version))), (s) => parseStoreState(s, clients.map((c) => c.name)));
