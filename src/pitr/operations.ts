// Pure planners of continuous archiving: from what a database host and its store have to the changes apply makes.
// The database host gets a replication role (its password lives only on the store), a bounded slot, a pg_hba line for
// the store's address alone, and a heartbeat; the store gets its script, the password and recipients of each host,
// the receivers' supervision (cron or systemd), base backups on schedule, retention and the health check.
import { shq, sqlLiteral } from '../core/quote.js';
import { registerSecret } from '../core/secrets.js';
import { clusterPaths } from '../facts/cluster-state.js';
import type { Host } from '../inventory/types.js';
import { lineDiff } from '../operations/diff.js';
import { scramMatches, scramVerifier } from '../operations/scram.js';
import type { Change } from '../operations/types.js';
import { PITR_PATHS, PITR_ROLE, PITR_SLOT, pitrUser, pitrUserScript, renderHeartbeatCron, renderPitrConf, renderPitrCron, renderPitrHba, renderPitrStore, renderPitrSudoers, renderPitrUnit } from './render.js';
import { pgpassPassword, pitrConfPath, type PitrDbState, type PitrStoreState } from './state.js';

const OP = 'pitr';
const defined = (cs: (Change | undefined)[]) => cs.filter((c): c is Change => c !== undefined);

function fileChange(path: string, current: string | null | undefined, content: string, mode: string, what: string, then: Change['commands'] = [], as?: 'postgres'): Change | undefined {
  const diff = lineDiff(current ?? null, content, path);
  if (!diff) return undefined;
  return { operation: OP, description: `${current == null ? 'install' : 'update'} ${what} (${path})`, diff, commands: [{ kind: 'upload', path, content, mode, ...(as ? { as } : {}) }, ...then] };
}

/** The password of a host's archiving role: the one the store holds, else `fresh` (made by the caller, written to the
 *  store by storeChanges in the same apply). */
export function archivingPassword(state: PitrStoreState, host: string, fresh: string): { password: string; isNew: boolean } {
  const held = pgpassPassword(state.clients[host]?.pgpass ?? null);
  registerSecret(held ?? fresh);
  return held ? { password: held, isNew: false } : { password: fresh, isNew: true };
}

/** Changes on a database host: settings, pg_hba block, role, slot, heartbeat. `password`: the store's (null: not known
 *  now, the role waits). Nothing here can touch the store: the host holds only a verifier. */
export function dbChanges(args: { host: Host; store: Host; state: PitrDbState; password: string | null }): { changes: Change[]; waiting: string[] } {
  const { host, store, state } = args;
  const pg = host.postgres!;
  const out: (Change | undefined)[] = [];
  const reload = { kind: 'sql' as const, port: pg.port, sql: 'SELECT pg_reload_conf();' };
  const reloadIf = state.online ? [reload] : [];
  out.push(fileChange(pitrConfPath(host), state.conf, renderPitrConf(host), '644', 'the archiving settings: max_slot_wal_keep_size bounds what the slot keeps; a dead connection ends in 30 s', reloadIf, 'postgres'));
  const block = renderPitrHba(store);
  if (state.hbaBlock !== block) {
    const hba = clusterPaths(pg).hba;
    out.push({
      operation: OP,
      description: `let ${store.name} (${store.address}) alone open a replication connection as ${PITR_ROLE} (${hba})`,
      diff: lineDiff(state.hbaBlock || null, block, `${hba} (ironclad pitr block)`) ?? undefined,
      commands: [
        // (as postgres: the file and its folder are postgres', who could have made either a link)
        { kind: 'sh', script: `runuser -u postgres -- sh -c ${shq(`umask 077; f=${shq(hba)}; t=$(mktemp "$f.XXXXXX") && awk '/^# BEGIN ironclad pitr$/ { skip = 1 } !skip { print } /^# END ironclad pitr$/ { skip = 0 }' "$f" > "$t" && cat >> "$t" && chmod 640 "$t" && mv -f "$t" "$f"`)}`, stdin: block },
        ...reloadIf,
      ],
    });
  }
  const waiting: string[] = [];
  if (state.online && state.role !== undefined) {
    const attrs = 'LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE';
    const attrsOk = Boolean(state.role && state.role.login && state.role.replication && !state.role.superuser);
    // (the store outside --limit: a role as it should be stays; its password is checked when the store is reachable)
    if (args.password === null) { if (!attrsOk) waiting.push(`${store.name} (the archiving role's password lives only there)`); }
    else if (!attrsOk || !scramMatches(state.role!.verifier, args.password)) {
      const verifier = scramVerifier(args.password);
      registerSecret(verifier);
      out.push({
        operation: OP,
        description: `${state.role ? 'alter' : 'create'} role ${PITR_ROLE} (login, replication, nothing else; its password lives on ${store.name})`,
        commands: [{ kind: 'sql', port: pg.port, sql: `${state.role ? 'ALTER' : 'CREATE'} ROLE ${PITR_ROLE} ${attrs} PASSWORD ${sqlLiteral(verifier)};` }],
      });
    }
    if (!state.slot)
      out.push({ operation: OP, description: `create the physical replication slot ${PITR_SLOT} (it keeps WAL for the store, at most max_slot_wal_keep_size)`, commands: [{ kind: 'sql', port: pg.port, sql: `SELECT pg_create_physical_replication_slot('${PITR_SLOT}', true);` }] });
    if (!state.heartbeatTable)
      out.push({
        operation: OP,
        description: 'create ironclad.heartbeat in the postgres database (a row every 30 s: the restore drill\'s proof of a recent point)',
        commands: [{ kind: 'sql', port: pg.port, sql: 'CREATE SCHEMA IF NOT EXISTS ironclad AUTHORIZATION postgres; CREATE TABLE IF NOT EXISTS ironclad.heartbeat(at timestamptz NOT NULL DEFAULT now()); REVOKE ALL ON SCHEMA ironclad FROM PUBLIC;' }],
      });
  }
  out.push(fileChange(PITR_PATHS.heartbeatCron, state.heartbeatCron, renderHeartbeatCron(host), '644', 'the heartbeat (cron)'));
  return { changes: defined(out), waiting };
}

/** sh that restarts the running receiver of `host` (nothing when none runs): systemd restarts its unit; elsewhere the
 *  old one is ended, its lock awaited, the new one started (a lab host runs no cron daemon to do it). */
function restartReceiver(host: string, systemd: boolean): string {
  if (systemd) return `systemctl try-restart ${shq(`ironclad-pitr-receive@${host}.service`)}`;
  const spool = (f: string) => shq(`${PITR_PATHS.spool}/${host}.${f}`);
  return `if p=$(cat ${spool('pid')} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p"; flock -w 60 ${spool('lock')} true; setsid ${PITR_PATHS.script} receive ${shq(host)} </dev/null >/dev/null 2>>/var/log/ironclad-pitr.log & fi`;
}

/** Changes on a store: tools, its archive folder, script, sudo rule, per host password and recipients, supervision. */
export function storeChanges(args: { store: Host; clients: Host[]; state: PitrStoreState; passwords: Map<string, { password: string; isNew: boolean }>; recipients: Map<string, string | null> }): { changes: Change[]; waiting: string[] } {
  const { store, clients, state } = args;
  const bs = store.backup_store!;
  const version = Math.max(15, ...clients.map((c) => c.postgres!.version));
  const out: (Change | undefined)[] = [];
  const missing = [!state.tools.receivewal && `postgresql-client-${version}`, !state.tools.waldump && `postgresql-${version}`, !state.tools.age && 'age', !state.tools.zstd && 'zstd', !state.tools.sudo && 'sudo'].filter((x): x is string => Boolean(x));
  if (missing.length)
    out.push({
      operation: OP,
      description: `install ${missing.join(', ')} (pg_receivewal, pg_basebackup, pg_waldump; no cluster is created on the store)`,
      commands: [{ kind: 'sh', script: `mkdir -p /etc/postgresql-common/createcluster.d && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ironclad-store.conf && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${missing.join(' ')}` }],
    });
  // one receiving user per database host (a host that broke its receiver reads no other host's WAL)
  const users = clients.filter((c) => state.clients[c.name]?.userShell !== '/usr/sbin/nologin');
  const made = users.filter((c) => !state.clients[c.name]?.userShell);
  const shells = users.filter((c) => state.clients[c.name]?.userShell);
  if (users.length)
    out.push({
      operation: OP,
      description: [
        made.length && `create the system user${made.length > 1 ? 's' : ''} ${made.map((c) => `${pitrUser(c.name)} (for ${c.name})`).join(', ')}, no shell, no home: pg_receivewal, pg_basebackup and what parses their data run as the host's own user, never as root`,
        shells.length && `take the login shell from ${shells.map((c) => `${pitrUser(c.name)} (${state.clients[c.name]!.userShell})`).join(', ')} (it runs a WAL receiver; nobody logs in as it)`,
      ].filter(Boolean).join('; '),
      commands: users.map((c) => ({ kind: 'sh' as const, script: pitrUserScript(pitrUser(c.name)) })),
    });
  const group = bs.user;
  if (state.pitrDir !== `root ${group} 2750`) {
    const dir = shq(`${bs.path}/pitr`);
    out.push({
      operation: OP,
      description: `make ${bs.path}/pitr root's, readable by ${group} only (restoring hosts read the ciphertext through their forced command)`,
      commands: [{ kind: 'sh', script: `install -d -o root -g root -m 700 ${PITR_PATHS.conf} && install -d -o root -g ${shq(group)} -m 2750 ${dir} && chown root:${shq(group)} ${dir} && chmod 2750 ${dir}` }],
    });
  }
  // a new script restarts the running receivers; a spool root made (a receiver from before it ran as a user) or the
  // shared user's (before each host had its own) is handed to the host's user by the receiver that starts next, so a
  // running receiver with such a spool restarts as well
  const notUsers = (cs: Host[]) => cs.filter((c) => (state.clients[c.name]?.spoolOwner ?? pitrUser(c.name)) !== pitrUser(c.name));
  const spoolsOf = (cs: Host[]) => (notUsers(cs).length ? `; the spool of ${notUsers(cs).map((c) => `${c.name} (now ${state.clients[c.name]!.spoolOwner}'s) goes to ${pitrUser(c.name)}`).join(', ')}` : '');
  const rootSpool = notUsers(clients.filter((c) => state.clients[c.name]?.receiving));
  const handOver = spoolsOf(rootSpool);
  const restart = (cs: Host[]) => ({ kind: 'sh' as const, script: [...cs.map((c) => restartReceiver(c.name, state.systemd)), 'true'].join('\n') });
  const script = fileChange(PITR_PATHS.script, state.files[PITR_PATHS.script], renderPitrStore(store, clients), '755', `the store's archiving script (running receivers restart${handOver})`, [restart(clients)]);
  out.push(script);
  if (!script && rootSpool.length)
    out.push({ operation: OP, description: `restart the WAL receiver of ${rootSpool.map((c) => c.name).join(', ')}${handOver}: pg_receivewal runs as the host's own user from then on, never root`, commands: [restart(rootSpool)] });
  const sudoers = renderPitrSudoers(store);
  if (state.files[PITR_PATHS.sudoers] !== sudoers)
    out.push({
      operation: OP,
      description: `let ${bs.user} have root encrypt a segment being received, nothing else (${PITR_PATHS.sudoers})`,
      diff: lineDiff(state.files[PITR_PATHS.sudoers] ?? null, sudoers, PITR_PATHS.sudoers) ?? undefined,
      commands: [{ kind: 'sh', script: `t=$(mktemp) && cat > "$t" && visudo -q -c -f "$t" && install -m 440 -o root -g root "$t" ${PITR_PATHS.sudoers}; rc=$?; rm -f "$t"; exit $rc`, stdin: sudoers }],
    });
  const waiting: string[] = [];
  for (const c of clients) {
    const pw = args.passwords.get(c.name);
    const line = pw ? `${c.address}:${c.postgres!.port}:*:${PITR_ROLE}:${pw.password}\n` : null;
    if (line && (pw!.isNew || state.clients[c.name]?.pgpass !== line)) {
      out.push({ operation: OP, description: `${pw!.isNew ? 'make' : 'update'} ${c.name}'s archiving password (${PITR_PATHS.conf}/${c.name}.pgpass, root only; the database host gets its verifier)`, commands: [{ kind: 'upload', path: `${PITR_PATHS.conf}/${c.name}.pgpass`, content: line, mode: '600', owner: 'root:root' }] });
    }
    const recipients = args.recipients.get(c.name);
    if (recipients === null || recipients === undefined) waiting.push(`${c.name}'s recipients`);
    else out.push(fileChange(`${PITR_PATHS.conf}/${c.name}.recipients`, state.clients[c.name]?.recipients, recipients, '644', `the age recipients of ${c.name}'s WAL and base backups`));
  }
  out.push(fileChange(PITR_PATHS.cron, state.files[PITR_PATHS.cron], renderPitrCron(clients, state.systemd), '644', 'the receivers, base backups, retention and health of continuous archiving (cron)'));
  // where no systemd runs, cron keeps each receiver running; apply starts it at once (a lab host runs no cron daemon)
  const idle = state.systemd ? [] : clients.filter((c) => !state.clients[c.name]?.receiving && args.recipients.get(c.name));
  if (idle.length)
    out.push({
      operation: OP,
      description: `start the WAL receiver of ${idle.map((c) => c.name).join(', ')} now (cron keeps it running)${spoolsOf(idle)}`,
      commands: [{ kind: 'sh', script: idle.map((c) => `setsid ${PITR_PATHS.script} receive ${shq(c.name)} </dev/null >/dev/null 2>>/var/log/ironclad-pitr.log &`).join('\n') + '\nsleep 1' }],
    });
  // a host without a base backup has no window yet: the first is taken now (its schedule may be a day away)
  const unbased = clients.filter((c) => !state.clients[c.name]?.hasBase && args.recipients.get(c.name));
  if (unbased.length)
    out.push({ operation: OP, description: `take the first base backup of ${unbased.map((c) => c.name).join(', ')} (the recovery window starts there)`, commands: unbased.map((c) => ({ kind: 'sh' as const, script: `${PITR_PATHS.script} base ${shq(c.name)}` })) });
  if (state.systemd) {
    const unit = fileChange(PITR_PATHS.unit, state.files[PITR_PATHS.unit], renderPitrUnit(), '644', 'the WAL receiver unit');
    out.push(unit);
    out.push({
      operation: OP,
      description: `run a WAL receiver for ${clients.map((c) => c.name).join(', ')} (systemd)`,
      commands: [{ kind: 'sh', script: `systemctl daemon-reload && systemctl enable --now ${clients.map((c) => shq(`ironclad-pitr-receive@${c.name}.service`)).join(' ')}` }],
    });
    if (!unit) out.pop(); // enabled already when the unit is as it should be
  }
  return { changes: defined(out), waiting };
}
