// End to end on lab hosts whose pid 1 is systemd (inventory/lab-systemd.yaml: systemd-nspawn on the cached Debian
// base tree): a fresh host is provisioned by `ironclad apply` (packages from the hosts' apt cache, the cluster under
// postgresql@15-main), the backup timer fires on its own and `audit` sees its run, and the census sees the cluster
// systemd started and flags a second one, started by systemctl and by hand. Needs root on Linux, systemd-nspawn
// and debootstrap (the base tree is built on first use); the lab is always taken down afterwards.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import type { AuditReport } from '../../src/audit/types.js';
import type { HostCensusJson } from '../../src/instances/report.js';
import { ironclad } from './helpers/cli.js';
import { labUnavailable, SYSTEMD_LAB_INVENTORY, withLab } from './helpers/lab.js';
import { firesAgainScript } from './helpers/wait.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'ironclad-systemd-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** The systemd lab with a backup every minute, so that the timer fires during the test. */
function testInventory(): string {
  const doc = YAML.parse(readFileSync(SYSTEMD_LAB_INVENTORY, 'utf8'));
  doc.hosts['sd-db'].backup.schedule = '*-*-* *:*:00';
  const file = join(tmp, 'lab-systemd.yaml');
  writeFileSync(file, YAML.stringify(doc));
  return file;
}

async function main() {
  const inventoryFile = testInventory();
  const inv = ['-i', inventoryFile];
  const lab = await withLab(t, { inventoryFile });
  t.comment(`lab up: ${lab.up.hosts.map((h) => `${h.host} ${h.action}`).join(', ')} in ${(lab.up.durationMs / 1000).toFixed(1)}s`);
  const sh = (host: string, script: string) => lab.sshOk(host, script).then((s) => s.trim());
  const census = async () => {
    const r = await ironclad([...inv, '--json', '--limit', 'sd-db', 'check', 'instances']);
    return { code: r.code, host: (JSON.parse(r.stdout) as { hosts: HostCensusJson[] }).hosts[0]!, stderr: r.stderr };
  };

  await t.test('every host runs systemd as pid 1 and boots clean', async (t) => {
    for (const host of ['sd-db', 'sd-store']) {
      t.equal(await sh(host, 'cat /proc/1/comm'), 'systemd', `${host}: pid 1`);
      const state = await lab.ssh(host, 'systemctl is-system-running --wait; systemctl --failed --no-legend --plain');
      t.equal(state.stdout.split('\n')[0], 'running', `${host}: ${state.stdout.trim()}`);
      t.equal(await sh(host, 'hostname'), host, `${host}: its own hostname`);
    }
    t.not(await sh('sd-db', 'cat /etc/machine-id'), await sh('sd-store', 'cat /etc/machine-id'), 'each host has its own machine-id');
    t.not(await sh('sd-db', 'cat /etc/ssh/ssh_host_ed25519_key.pub'), await sh('sd-store', 'cat /etc/ssh/ssh_host_ed25519_key.pub'), 'and its own host key');
  });

  await t.test('apply provisions a fresh host: packages from the cache, the cluster under postgresql@15-main', async (t) => {
    t.equal(await sh('sd-db', "dpkg-query -W -f='${db:Status-Status}' postgresql-15 2>/dev/null || echo absent"), 'absent', 'fresh: no PostgreSQL before apply');
    const started = Date.now();
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, `apply\n${r.stdout}\n${r.stderr}`);
    t.comment(`apply of a fresh systemd estate: ${((Date.now() - started) / 1000).toFixed(1)}s`);
    t.equal(await sh('sd-db', 'systemctl is-active postgresql@15-main'), 'active', 'the cluster runs under its unit');
    t.equal(await sh('sd-db', 'systemctl is-enabled postgresql@15-main'), 'enabled', 'and starts at boot');
    const mainPid = await sh('sd-db', 'systemctl show -P MainPID postgresql@15-main');
    t.equal(await sh('sd-db', 'head -n 1 /var/lib/postgresql/15/main/postmaster.pid'), mainPid, "the unit's main process is the postmaster");
    t.equal(await sh('sd-db', 'pg_lsclusters -h | cut -d" " -f1-4'), '15 main 5432 online', 'one cluster, online');
    const again = await ironclad([...inv, '--json', 'apply', '--yes']);
    t.equal(again.code, 0, `a second apply\n${again.stderr}`);
  });

  await t.test('the backup timer fires on its own; its run is in the store and in the audit', async (t) => {
    await lab.sshOk('sd-db', `cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -v rows=200 -d app"`, { stdin: SEED });
    t.equal(await sh('sd-db', 'systemctl is-enabled ironclad-backup.timer; systemctl is-active ironclad-backup.timer'), 'enabled\nactive', 'timer enabled and active');
    // the timer is ironclad's own (OnCalendar every minute here); only its default accuracy of a minute is narrowed
    await lab.sshOk('sd-db', "mkdir -p /etc/systemd/system/ironclad-backup.timer.d && printf '[Timer]\\nAccuracySec=1s\\n' > /etc/systemd/system/ironclad-backup.timer.d/test.conf && systemctl daemon-reload");
    // the timer runs every minute since apply installed it: a run that began before the seed (an empty database, refused)
    // ends first, and the run that counts is one that starts after it
    const fired = await lab.sshOk('sd-db', firesAgainScript('ironclad-backup', { busySeconds: 120, seconds: 100, properties: ['Result', 'ExecMainStatus', 'NRestarts'] }));
    t.match(fired, /Result=success/, `the service the timer started succeeded\n${fired}`);
    t.match(fired, /ExecMainStatus=0/);
    t.match(await sh('sd-db', 'systemctl list-timers --all --no-legend ironclad-backup.timer'), /ironclad-backup\.service/, 'list-timers shows its last run');
    await lab.sshOk('sd-db', 'systemctl stop ironclad-backup.timer');
    const list = JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout) as { backups: { host: string; database: string; tables: number }[] };
    t.ok(list.backups.some((b) => b.host === 'sd-db' && b.database === 'app' && b.tables >= 3), 'the store holds the timer-made backup');
    const audit = JSON.parse((await ironclad([...inv, '--json', 'audit'])).stdout) as AuditReport;
    const findings = audit.hosts.flatMap((h) => h.findings);
    t.comment(`audit lines not ok on the systemd estate:\n${findings.filter((f) => f.level !== 'ok').map((f) => `${f.host} ${f.area} ${f.subject ?? ''}: ${f.level}: ${f.message}`).join('\n')}`);
    const job = findings.find((f) => f.host === 'sd-db' && f.area === 'job');
    t.equal(job?.level, 'ok', `audit: ${job?.message}`);
    t.match(job?.message, /last run/);
    const backup = findings.find((f) => f.host === 'sd-db' && f.area === 'backup' && f.subject === 'app');
    t.equal(backup?.level, 'ok', `audit: ${backup?.message}`);
  });

  await t.test('the census sees the cluster systemd runs, and a second one started by systemctl or by hand', async (t) => {
    const clean = await census();
    t.equal(clean.code, 0, `clean: ${clean.host.problems.join('; ')}${clean.stderr}`);
    const mainPid = Number(await sh('sd-db', 'systemctl show -P MainPID postgresql@15-main'));
    const main = clean.host.instances.find((i) => i.expected_as === '15/main');
    t.equal(main?.pid, mainPid, 'the expected instance is the unit\'s main process');
    t.equal(main?.port, 5432);

    await lab.sshOk('sd-db', 'pg_createcluster --start-conf manual -p 5433 15 other -- --no-sync >/dev/null && systemctl start postgresql@15-other');
    const bySystemd = await census();
    t.equal(bySystemd.code, 3, 'a second cluster started by systemctl is a problem');
    t.match(bySystemd.host.problems.join('\n'), /second PostgreSQL is running.*5433|5433.*second PostgreSQL/s, bySystemd.host.problems.join('\n'));

    await lab.sshOk('sd-db', 'systemctl stop postgresql@15-other && pg_ctlcluster --skip-systemctl-redirect 15 other start');
    t.equal(await sh('sd-db', 'systemctl is-active postgresql@15-other || true'), 'inactive', 'started by hand: not under its unit');
    const byHand = await census();
    t.equal(byHand.code, 3, 'a second cluster started by hand is a problem');
    t.match(byHand.host.problems.join('\n'), /5433/, byHand.host.problems.join('\n'));

    await lab.sshOk('sd-db', 'pg_dropcluster --stop 15 other');
    t.equal((await census()).code, 0, 'clean again once it is gone');
  });
}

const unavailable = labUnavailable();
if (unavailable) t.plan(0, `systemd lab hosts: ${unavailable}`);
else await main();
