// End to end on lab hosts: point-in-time restores from the store's archive with production killed (SIGKILL) and left
// down: a time between two commits holds exactly the first, `latest` holds both, each onto the restoring host only
// (--limit proves nothing else is contacted); a production target, a taken port and a name in use are refused, a
// restore cut short by a crash is made anew under its name; the drill passes,
// and fails (exit 3) once a WAL segment is removed from the store, and the audit says so each time; the incident
// runbook swaps a restore in place (production's own settings set aside), and archiving goes on after it.
// Lab `pt` (test/e2e/pitr-lab.yaml, 10.213.40.0/24): pt-db (production, archives to pt-store), pt-store, pt-stage
// (pt-db's drill host).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ironclad, type CliResult } from './helpers/cli.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planLab } from '../../src/lab/plan.js';
import { labUnavailable, slotFile, withLab, type LabHandle } from './helpers/lab.js';

const INVENTORY_FILE = slotFile(fileURLToPath(new URL('./pitr-lab.yaml', import.meta.url)));
const STATE = planLab(loadInventory(INVENTORY_FILE)).stateDir;
// the archive side's lab inventory (the same pt lab): pt-db archives to pt-store, pt-stage is its drill host
const BOOK = fileURLToPath(new URL('../../runbooks/restore-production-pitr.yaml', import.meta.url));

const pitr = (inv: string, args: string[]): Promise<CliResult> => ironclad(['-i', inv, ...args]);

/** Continuous archiving as apply wires it (checked), a receiver running and a base backup taken now. */
async function wireArchiving(lab: LabHandle): Promise<void> {
  await lab.sshOk('pt-store', 'test -x /usr/local/sbin/ironclad-pitr && grep -q pitr- /usr/local/sbin/ironclad-store');
  await lab.sshOk('pt-db', 'cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1"', { stdin: 'CREATE SCHEMA IF NOT EXISTS ironclad;\nCREATE TABLE IF NOT EXISTS ironclad.heartbeat(at timestamptz NOT NULL);\n' });
  // (the archive's folders readable by the store's account, which the reader verbs run as)
  await lab.sshOk('pt-store', 'install -d -m 2750 -g ironclad-backup /srv/ironclad/backups/pitr /srv/ironclad/backups/pitr/pt-db');
  // a second receiver exits at once (its lock), so it is simply started
  await lab.sshOk('pt-store', 'setsid /usr/local/sbin/ironclad-pitr receive pt-db >>/var/log/ironclad-pitr.log 2>&1 </dev/null &');
  await lab.sshOk('pt-store', '/usr/local/sbin/ironclad-pitr base pt-db');
}

async function main() {
  mkdirSync(`${STATE}/secrets`, { recursive: true, mode: 0o700 });
  if (!existsSync(`${STATE}/secrets/app.pw`)) writeFileSync(`${STATE}/secrets/app.pw`, 'pt-app-password\n', { mode: 0o600 });
  const inv = INVENTORY_FILE;
  const lab = await withLab(t, { inventoryFile: inv });
  const sql = (host: string, text: string, port = 5432, db = 'app') => lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -p ${port} -d ${db}"`, { stdin: text });
  const heartbeat = () => sql('pt-db', 'INSERT INTO ironclad.heartbeat VALUES (now());', 5432, 'postgres');
  /** Wait until the store has received everything pt-db has written so far. */
  const received = async () => {
    const lsn = (await sql('pt-db', 'SELECT pg_current_wal_lsn();', 5432, 'postgres')).trim();
    for (let i = 0; i < 240; i++) {
      // (a receiver that stopped is started again after a minute, by its pid file, as its cron would)
      if (i === 120) await lab.ssh('pt-store', 'p=$(cat /run/ironclad-pitr/pt-db.pid 2>/dev/null) && kill "$p"; sleep 1; setsid /usr/local/sbin/ironclad-pitr receive pt-db >>/var/log/ironclad-pitr.log 2>&1 </dev/null &');
      if ((await sql('pt-db', `SELECT coalesce(bool_or(write_lsn >= '${lsn}'), false) FROM pg_stat_replication WHERE application_name = 'ironclad_pitr';`, 5432, 'postgres')).trim() === 't') {
        await new Promise((r) => setTimeout(r, 6000)); // (the store looks at its partial segment every 5 s)
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const diag = await lab.ssh('pt-store', 'ps -ef | grep -v grep | grep -E "pitr|receivewal"; tail -n 20 /var/log/ironclad-pitr.log /run/ironclad-pitr/pt-db/.log; ls -la /srv/ironclad/backups/pitr/pt-db /srv/ironclad/backups/pitr/pt-db/wal /run/ironclad-pitr/pt-db');
    throw new Error(`the store did not receive pt-db's WAL within 120 s:\n${diag.stdout}${diag.stderr}`);
  };

  let between = '';
  await t.test('the lab provisioned, archiving to the store, two commits', async (t) => {
    const applied = await ironclad(['-i', inv, 'apply', '--yes']);
    t.equal(applied.code, 0, 'apply converges the lab', { output: applied.stdout + applied.stderr });
    await wireArchiving(lab);
    await sql('pt-db', 'CREATE TABLE IF NOT EXISTS public.t(x text PRIMARY KEY); GRANT ALL ON public.t TO app;');
    // a few completed segments after the base, so that one can go missing in the middle later
    for (let i = 0; i < 3; i++) await sql('pt-db', `INSERT INTO ironclad.heartbeat VALUES (now()); SELECT pg_switch_wal();`, 5432, 'postgres');
    await sql('pt-db', "INSERT INTO public.t VALUES ('first');");
    await new Promise((r) => setTimeout(r, 1500));
    between = (await sql('pt-db', "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');")).trim();
    await new Promise((r) => setTimeout(r, 1500));
    await sql('pt-db', "INSERT INTO public.t VALUES ('second');");
    await heartbeat();
    await received();
    t.match(between, /^\d{4}-\d\d-\d\dT/);
  });

  await t.test('production killed with SIGKILL and left down', async (t) => {
    await lab.sshOk('pt-db', 'kill -KILL "$(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)"');
    await new Promise((r) => setTimeout(r, 500));
    const r = await lab.ssh('pt-db', 'cd / && su postgres -c "psql -X -At -c \'SELECT 1\'"');
    t.not(r.code, 0, 'pt-db answers no more');
  });

  await t.test('a restore to a time between the two commits holds exactly the first', async (t) => {
    const r = await pitr(inv, ['--limit', 'pt-stage', '--json', 'pitr', 'restore', '--host', 'pt-db', '--time', between, '--to', 'pt-stage', '--port', '5440', '--cluster', 'pt_between']);
    t.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    t.match(out, { host: 'pt-stage', source: 'pt-db', cluster: 'pt_between', port: 5440, stopped: 'target' });
    t.equal((await sql('pt-stage', 'SELECT string_agg(x, \',\' ORDER BY x) FROM public.t;', 5440)).trim(), 'first');
    t.equal((await sql('pt-stage', 'SELECT pg_is_in_recovery();', 5440, 'postgres')).trim(), 'f', 'promoted');
    // (replayed with fsync off, then stopped, synced to disk and started again before the restore said it was done)
    t.equal((await sql('pt-stage', 'SHOW fsync;', 5440, 'postgres')).trim(), 'on', 'it runs with fsync on');
    t.match(await lab.sshOk('pt-stage', 'cat /var/log/postgresql/postgresql-15-pt_between.log'), /database system is shut down[\s\S]*database system is ready to accept connections/, 'it was stopped cleanly and started again after its promotion');
    t.notMatch(await lab.sshOk('pt-stage', 'cat /etc/postgresql/15/pt_between/conf.d/ironclad-pitr.conf'), /fsync/, 'no fsync setting is left in its configuration');
    t.match(await lab.sshOk('pt-stage', 'cat /var/lib/ironclad/restored/pt_between.json'), /"restored_from":"pt-db"/);
  });

  await t.test('a restore to latest holds both', async (t) => {
    const r = await pitr(inv, ['--limit', 'pt-stage', 'pitr', 'restore', '--host', 'pt-db', '--time', 'latest', '--to', 'pt-stage', '--port', '5441', '--cluster', 'pt_latest']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /pt-stage: cluster 15\/pt_latest on port 5441 holds pt-db's data/);
    t.match(r.stderr, /cluster pt_latest made and recovering, in [\d.]+ s \(placed /, 'the empty cluster was made while the base arrived (make did not run initdb)');
    t.equal((await sql('pt-stage', 'SELECT string_agg(x, \',\' ORDER BY x) FROM public.t;', 5441)).trim(), 'first,second');
  });

  await t.test('a restore under a name it finished is refused and left whole; one a crash cut short is made anew', async (t) => {
    const args = ['--limit', 'pt-stage', 'pitr', 'restore', '--host', 'pt-db', '--time', 'latest', '--to', 'pt-stage', '--port', '5440', '--cluster', 'pt_between'];
    const again = await pitr(inv, args);
    t.equal(again.code, 3, again.stderr);
    t.match(again.stderr, /cluster 15\/pt_between already exists on this host/);
    t.equal((await sql('pt-stage', 'SELECT string_agg(x, \',\' ORDER BY x) FROM public.t;', 5440)).trim(), 'first', 'the finished restore is untouched (its failure dropped nothing)');
    // the power went during the replay (fsync off): the server down at once, its marker still saying recovery, WAL
    // fetched beside it; it was never said done
    const marker = '/etc/postgresql/15/pt_between/conf.d/ironclad-pitr.conf';
    await lab.sshOk('pt-stage', `pg_ctlcluster --skip-systemctl-redirect 15 pt_between stop -m immediate && sed -i '1s/^.*$/# ironclad pitr restore of pt-db (base 20261201T000000Z\\x1b]0;pwned\\x07): recovery in progress/' ${marker} && su postgres -c 'mkdir -p /var/lib/postgresql/ironclad-pitr/pt_between.wal'`);
    const cut = await pitr(inv, args);
    t.equal(cut.code, 0, cut.stderr);
    t.match(cut.stderr, /pt_between: ironclad pitr restore of pt-db \(base 20261201T000000Z\?\]0;pwned\?\): recovery in progress: removed, made anew/);
    t.notMatch(cut.stderr, /[\x1b\x07]/, 'the marker is postgres\' file: its control bytes never reach the terminal');
    t.equal((await sql('pt-stage', 'SELECT string_agg(x, \',\' ORDER BY x) FROM public.t;', 5440)).trim(), 'first,second', 'made anew to the time asked');
    t.match(await lab.sshOk('pt-stage', `head -n 1 ${marker}`), /^# ironclad pitr restore of pt-db \(base \S+, to the end of the archive\): promoted \S+, on disk$/m, 'finished: said so once it is on disk');
  });

  await t.test('refused: a port a cluster has, a production host without its typed name', async (t) => {
    const taken = await pitr(inv, ['--limit', 'pt-stage', 'pitr', 'restore', '--host', 'pt-db', '--time', 'latest', '--to', 'pt-stage', '--port', '5441', '--cluster', 'pt_again']);
    t.equal(taken.code, 3, taken.stderr);
    t.match(taken.stderr, /port 5441 belongs to cluster 15\/pt_latest/);
    t.equal((await sql('pt-stage', 'SELECT count(*) FROM public.t;', 5441)).trim(), '2', 'the cluster on that port is untouched');
    const prod = await pitr(inv, ['--limit', 'pt-db', 'pitr', 'restore', '--host', 'pt-db', '--time', 'latest', '--to', 'pt-db']);
    t.equal(prod.code, 3, prod.stderr);
    t.match(prod.stderr, /pt-db is tagged production.*--confirm-production pt-db/s);
  });

  /** The audit's finding on pt-db's point-in-time restore drill (the audit of pt-db and its store). */
  const drillFinding = async () => {
    const a = await ironclad(['-i', inv, '--json', '--limit', 'pt-db,pt-store', 'audit']);
    const all = (JSON.parse(a.stdout) as { hosts: { findings: { host: string; subject?: string; level: string; message: string }[] }[] }).hosts.flatMap((h) => h.findings);
    return all.find((f) => f.host === 'pt-db' && f.subject === 'pitr drill') ?? `no pitr drill finding in: ${a.stdout.slice(0, 400)} ${a.stderr.slice(0, 400)}`;
  };

  await t.test('the drill passes with production back', async (t) => {
    await lab.sshOk('pt-stage', 'for c in pt_between pt_latest; do pg_dropcluster --stop 15 $c 2>/dev/null; rm -f /var/lib/ironclad/restored/$c.json; done; true');
    await lab.sshOk('pt-db', 'pg_ctlcluster --skip-systemctl-redirect 15 main start');
    await heartbeat();
    t.match(await drillFinding(), { level: 'ok', message: /no point-in-time restore drill of pt-db has passed yet \(no drill recorded on pt-store\); one is due by 20\S+, 8 days after archiving began/ }, 'the audit: archiving is young, the first drill not yet due');
    const r = await pitr(inv, ['--json', 'pitr', 'drill', '--host', 'pt-db']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    const d = JSON.parse(r.stdout).drills[0];
    t.match(d, { passed: true, host: 'pt-db', on: 'pt-stage', problems: [] });
    t.ok(d.tables >= 1 && d.indexes >= 1, `${d.tables} tables, ${d.indexes} indexes checked`);
    t.ok(d.rpo_s !== null && d.rto_s !== null, `RPO ${d.rpo_s} s, RTO ${d.rto_s} s`);
    t.match(await lab.sshOk('pt-store', 'cat /srv/ironclad/backups/pitr/pt-db/drill.json'), /^\{"passed":true,/);
    t.equal((await lab.sshOk('pt-stage', 'pg_lsclusters -h | awk \'{print $2}\' | sort | tr "\\n" " "')).trim(), 'main', 'the drill left no cluster behind');
    t.equal((await lab.ssh('pt-stage', 'test -e /etc/postgresql/15/pitr_drill')).code, 1, 'nor its configuration folder (pg_dropcluster keeps a conf.d it does not know)');
    t.match(await drillFinding(), { level: 'ok', message: /point-in-time restore drill of pt-db passed 20/ }, 'the audit names the pass');
  });

  await t.test('the drill fails (exit 3) when a WAL segment is removed from the store', async (t) => {
    const base = JSON.parse((await lab.sshOk('pt-store', 'cat "$(ls -d /srv/ironclad/backups/pitr/pt-db/base/*/ | tail -n 1)backup.json"')));
    const segs = (await lab.sshOk('pt-store', 'ls /srv/ironclad/backups/pitr/pt-db/wal/ | grep -v history | sort')).trim().split('\n');
    const first = base.start_lsn.split('/');
    const startSeg = `00000001${first[0].padStart(8, '0')}${(parseInt(first[1], 16) >>> 24).toString(16).toUpperCase().padStart(8, '0')}`;
    const victim = segs.find((s) => s.slice(0, 24) > startSeg);
    t.ok(victim, `a segment after the base's first (${startSeg}) to remove: ${victim}`);
    await lab.sshOk('pt-store', `rm /srv/ironclad/backups/pitr/pt-db/wal/${victim}`);
    await heartbeat();
    const r = await pitr(inv, ['pitr', 'drill', '--host', 'pt-db']);
    t.equal(r.code, 3, r.stdout + r.stderr);
    t.match(r.stdout, /pt-db: pitr drill FAILED/);
    t.match(r.stdout, /gap: WAL segment [0-9A-F]{24} is missing/);
    t.match(await lab.sshOk('pt-store', 'cat /srv/ironclad/backups/pitr/pt-db/drill.json'), /^\{"passed":false,.*"last_passed_at":"20/);
    t.match(await drillFinding(), { level: 'warning', message: /pt-db: the latest, 20\S+, failed \(last passed: 20/ }, 'the audit warns: the latest drill failed');
  });

  await t.test('the incident runbook, in place on production (dead), through to the swap', async (t) => {
    // a new base after the removed segment, a third commit, production killed again; production's own settings carry an
    // archive_command (ALTER SYSTEM: postgresql.auto.conf, in the base) that must never run where the base is restored
    await sql('pt-db', "ALTER SYSTEM SET archive_command = 'touch /tmp/ironclad-pt-production-setting-ran';", 5432, 'postgres');
    const b = await pitr(inv, ['pitr', 'base', '--host', 'pt-db']);
    t.equal(b.code, 0, b.stdout + b.stderr);
    await sql('pt-db', "INSERT INTO public.t VALUES ('third');");
    await heartbeat();
    await received();
    await lab.sshOk('pt-db', 'kill -KILL "$(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)"');
    const params = ['--set', 'source=pt-db', '--set', 'target=pt-db', '--set', 'time=latest'];
    const r = await ironclad(['-i', inv, '--yes', 'runbook', 'run', BOOK, ...params]);
    const [code, output] = [r.code, r.stdout + r.stderr];
    t.equal(code, 0, output);
    t.match(output, /the restored cluster holds everything pt-db's archive held/);
    t.equal((await sql('pt-db', "SELECT string_agg(x, ',' ORDER BY x) FROM public.t;")).trim(), 'first,second,third', 'production serves the restore on its own port');
    const clusters = await lab.sshOk('pt-db', 'pg_lsclusters -h');
    t.match(clusters, /^15 +main +5432 +online/m, 'the restored cluster is main on 5432');
    t.match(clusters, /^15 +main__damaged_\d{8}t\d{4}z +\d+ +down/m, 'the damaged cluster is kept, stopped');
    t.equal((await lab.sshOk('pt-db', 'cat /etc/postgresql/15/main__damaged_*/start.conf')).trim(), 'manual');
    t.equal((await sql('pt-db', 'SHOW listen_addresses;', 5432, 'postgres')).trim(), `127.0.0.1,${lab.host('pt-db').address}`, "production's configuration: it listens where production listened");
    t.match(await lab.sshOk('pt-db', 'cat /etc/postgresql/15/main/pg_hba.conf'), /ironclad_wal/, "and lets in whom production let in");
    t.match(await lab.sshOk('pt-db', 'cat /var/lib/postgresql/15/main/postgresql.auto.conf.source'), /archive_command = 'touch \/tmp\/ironclad-pt-production-setting-ran'/, "the source's postgresql.auto.conf set aside");
    t.equal((await sql('pt-db', "SELECT count(*) FROM pg_file_settings WHERE name = 'archive_command';", 5432, 'postgres')).trim(), '0', 'and not among the settings the restored cluster reads');
  });

  await t.test('after the swap archiving goes on: the store makes the slot again and a base on the new timeline follows', async (t) => {
    await sql('pt-db', "INSERT INTO public.t VALUES ('fourth');");
    const at = (await sql('pt-db', "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');")).trim();
    await heartbeat();
    await received();
    let w: { archiving?: boolean; latest?: string | null; bases?: number } = {};
    for (let i = 0; i < 90 && !(w.archiving && (w.latest ?? '') >= at); i++) {
      if (i) await new Promise((r) => setTimeout(r, 2000));
      await heartbeat();
      const st = await pitr(inv, ['--json', 'pitr', 'status', '--host', 'pt-db']);
      w = (JSON.parse(st.stdout || '{"clusters":[{}]}') as { clusters: typeof w[] }).clusters[0] ?? {};
    }
    t.match(w, { archiving: true }, JSON.stringify(w));
    t.ok((w.latest ?? '') >= at, `the window reaches the commit after the swap (${w.latest} >= ${at})`);
    t.match(await lab.sshOk('pt-db', "cd / && su postgres -c \"psql -X -At -c 'SELECT timeline_id FROM pg_control_checkpoint()'\""), /^[2-9]/, 'on a new timeline');
    t.match(await lab.sshOk('pt-store', 'cat /var/log/ironclad-alerts.log 2>/dev/null; tail -n 50 /var/log/ironclad-pitr.log'), /the slot is gone|made again from now/, 'the store says what happened');
    let bases = '';
    for (let i = 0; i < 60 && !/"timeline":[2-9]/.test(bases); i++) {
      if (i) await new Promise((r) => setTimeout(r, 1000));
      bases = await lab.sshOk('pt-store', 'cat /srv/ironclad/backups/pitr/pt-db/base/*/backup.json');
    }
    t.match(bases, /"timeline":[2-9]/, 'a base backup of the new timeline, taken by the store on its own');
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
