// End to end on lab hosts (its own bridge, subnet 10.213.118.0/24 in slot 1, and state folder): apply turns TLS on with a
// certificate of the estate's CA; a client verifies it with sslmode=verify-full and is admitted by a hostssl rule
// (and refused without TLS); a certificate 10 days from its end turns the audit yellow and apply renews it; a host whose
// clock reads an hour ahead turns the audit red. The clock is shadowed on that host only: a `date` in its own
// /usr/local/bin (inside its overlay), which the clock reading finds first on its PATH, as any program there would.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { AuditReport, Finding } from '../../src/audit/types.js';
import { ensureCa, loadCa } from '../../src/tls/ca.js';
import { issueCert } from '../../src/tls/issue.js';
import { ironclad } from './helpers/cli.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planLab } from '../../src/lab/plan.js';
import { labUnavailable, reText, slotText, withLab } from './helpers/lab.js';
import { tempDir } from '../fixtures/tmp.js';

// the lab as slot 1 has it (slotText moves it for this process's slot); what tests use comes from the plan below
const STATE1 = '/var/lib/ironclad-lab-tls';
const dir = tempDir('ironclad-tls-e2e-');
const INV = join(dir, 'tls.yaml');
writeFileSync(
  INV,
  slotText(`version: 1
lab:
  bridge: icltl
  subnet: 10.213.118.0/24
  state_dir: ${STATE1}
tls:
  ca:
    dir: ${STATE1}/ca
defaults:
  ssh:
    user: root
    port: 22
    identity_file: ${STATE1}/id_ed25519
    known_hosts: ${STATE1}/known_hosts
  postgres:
    version: 15
hosts:
  tl-db:
    address: 10.213.118.10
    tags: [staging]
    postgres:
      cluster: main
      port: 5432
      listen: [127.0.0.1, 10.213.118.10]
      roles:
        - name: app
          login: true
          password: { file: ${STATE1}/secrets/app.pw }
      databases:
        - name: app
          owner: app
      hba:
        - { type: hostssl, database: app, user: app, address: 10.213.118.0/24, method: scram-sha-256 }
  tl-clock:
    address: 10.213.118.11
    tags: [staging]
`),
);
const PLAN = planLab(loadInventory(INV));
const STATE = PLAN.stateDir;
const CA_DIR = `${STATE}/ca`;
const DB = PLAN.hosts.find((h) => h.name === 'tl-db')!.address;
const inv = ['-i', INV];

/** psql on this machine as a client of tl-db; its output, or the error it printed. */
function psql(conninfo: string, sql = 'SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'): Promise<{ code: number; out: string }> {
  const pw = readFileSync(`${STATE}/secrets/app.pw`, 'utf8').trim();
  return new Promise((resolve) =>
    execFile('psql', ['-X', '-A', '-t', '-d', conninfo, '-c', sql], { env: { ...process.env, PGPASSWORD: pw, PGCONNECT_TIMEOUT: '10' } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: (stdout + stderr).trim() }),
    ),
  );
}

async function audit(): Promise<{ code: number; findings: Finding[] }> {
  const r = await ironclad([...inv, '--json', 'audit']);
  return { code: r.code, findings: (JSON.parse(r.stdout) as AuditReport).hosts.flatMap((h) => h.findings) };
}
const line = (fs: Finding[], host: string, area: string, subject: string) => fs.find((f) => f.host === host && f.area === area && f.subject === subject);

async function main() {
  t.teardown(() => rmSync(CA_DIR, { recursive: true, force: true }));
  rmSync(CA_DIR, { recursive: true, force: true });
  const lab = await withLab(t, { inventoryFile: INV });
  const verify = `host=tl-db hostaddr=${DB} port=5432 user=app dbname=app sslmode=verify-full sslrootcert=${CA_DIR}/ca.crt`;

  await t.test('plan shows the certificate to be issued (names, no PEM) and makes nothing', async (t) => {
    const r = await ironclad([...inv, 'plan']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, new RegExp(`tls +issue the server certificate from the estate's CA in ${CA_DIR}: CN=tl-db, DNS:tl-db, IP:${DB.replace(/\./g, '\\.')}, IP:127\\.0\\.0\\.1, valid 365 days`));
    t.notMatch(r.stdout, /BEGIN CERTIFICATE|PRIVATE KEY/, 'no PEM, no key');
    t.notOk(existsSync(CA_DIR), 'plan made no CA');
  });

  await t.test('apply: the CA made once on this machine, ssl on, the key postgres\'s 0600, only the certificate on the host', async (t) => {
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(r.stdout, /\+ tls +issue the server certificate/);
    t.notMatch(r.stdout + r.stderr, /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key and no PEM in the output');
    t.equal(statSync(`${CA_DIR}/ca.key`).mode & 0o777, 0o600);
    t.equal((await lab.sshOk('tl-db', 'stat -c "%U %G %a" /etc/ironclad/tls/server.key')).trim(), 'postgres postgres 600');
    t.equal((await lab.sshOk('tl-db', 'cd / && su postgres -c "psql -XAtc \'SHOW ssl\'"')).trim(), 'on');
    t.equal((await lab.ssh('tl-db', 'grep -rl "PRIVATE KEY" /etc/ironclad /var/lib/ironclad 2>/dev/null | grep -v "^/etc/ironclad/tls/server.key$"')).stdout.trim(), '', 'no key but its own (the CA key never went there)');
    t.equal((await lab.sshOk('tl-db', 'cat /etc/ironclad/tls/ca.crt')).trim(), readFileSync(`${CA_DIR}/ca.crt`, 'utf8').trim(), 'the CA certificate for local clients');
    const again = await ironclad([...inv, '--json', 'apply', '--yes']);
    t.same(JSON.parse(again.stdout).hosts.map((h: { changes: unknown[] }) => h.changes.length), [0, 0], 'a second apply changes nothing');
  });

  await t.test('a client verifies the server (verify-full, the estate\'s CA) and a hostssl rule admits it; no TLS, no entry', async (t) => {
    const ok = await psql(verify);
    t.equal(ok.code, 0, ok.out);
    t.match(ok.out, /^t\|TLSv1\.[23]$/, 'the session is encrypted');
    const byIp = await psql(`host=${DB} port=5432 user=app dbname=app sslmode=verify-full sslrootcert=${CA_DIR}/ca.crt`);
    t.equal(byIp.code, 0, `by its address too: ${byIp.out}`);
    const plain = await psql(`host=${DB} port=5432 user=app dbname=app sslmode=disable`);
    t.not(plain.code, 0);
    t.match(plain.out, /no pg_hba\.conf entry for host .* user "app", database "app", no encryption/);
    const wrongName = await psql(`host=db-prod hostaddr=${DB} port=5432 user=app dbname=app sslmode=verify-full sslrootcert=${CA_DIR}/ca.crt`);
    t.match(wrongName.out, /server certificate for "tl-db" \(and \d+ other names?\) does not match host name "db-prod"/, 'a name it was not issued for is refused');
    const stranger = tempDir('ironclad-tls-other-');
    const other = await ensureCa({ ca: { kind: 'managed', dir: join(stranger, 'ca') }, days: 365, renew_before_days: 30 });
    const foreign = await psql(`host=tl-db hostaddr=${DB} port=5432 user=app dbname=app sslmode=verify-full sslrootcert=${other.certFile}`);
    t.match(foreign.out, /certificate verify failed/, 'another CA does not vouch for it');
  });

  await t.test('the audit: the certificate green; 10 days from its end yellow; apply renews it', async (t) => {
    const first = await audit();
    t.match(line(first.findings, 'tl-db', 'tls', 'certificate'), { level: 'ok', message: new RegExp(`^CN=tl-db, DNS:tl-db, IP:${reText(DB)}, IP:127\\.0\\.0\\.1, valid until`) });
    const ca = loadCa({ ca: { kind: 'managed', dir: CA_DIR }, days: 365, renew_before_days: 30 })!;
    const soon = await issueCert({ ca, cn: 'tl-db', names: { dns: ['tl-db'], ip: [DB, '127.0.0.1'] }, days: 10 });
    await lab.sshOk('tl-db', 'cat > /etc/ironclad/tls/server.key', { stdin: soon.keyPem });
    await lab.sshOk('tl-db', 'cat > /etc/ironclad/tls/server.crt && pg_ctlcluster --skip-systemctl-redirect 15 main reload', { stdin: soon.certPem });
    t.equal((await psql(verify)).code, 0, 'the server uses it');
    const yellow = await audit();
    t.match(line(yellow.findings, 'tl-db', 'tls', 'certificate'), { level: 'warning', message: /^expires in (9|10) days/ });
    t.match(line(yellow.findings, 'tl-db', 'drift', 'inventory'), { level: 'warning', message: /routine: apply would renew the TLS certificate/ });
    t.notOk(yellow.findings.some((f) => f.host === 'tl-db' && f.level === 'failure'), 'yellow, not red');
    const renewed = await ironclad([...inv, 'apply', '--yes']);
    t.equal(renewed.code, 0, renewed.stdout + renewed.stderr);
    t.match(renewed.stdout, /\+ tls-renew +renew the server certificate .*\(expires in (9|10) days/);
    t.match(line((await audit()).findings, 'tl-db', 'tls', 'certificate'), { level: 'ok' });
    t.equal((await psql(verify)).code, 0, 'clients still verify after the renewal (reloaded)');
  });

  await t.test('clocks: a host whose clock reads an hour ahead is red; its neighbour stays green; no sync daemon is a warning', async (t) => {
    await lab.sshOk('tl-clock', "mkdir -p /usr/local/bin && printf '#!/bin/sh\\nexec /bin/date -d \"+1 hour\" \"$@\"\\n' > /usr/local/bin/date && chmod 755 /usr/local/bin/date");
    t.ok(Number((await lab.sshOk('tl-clock', 'date +%s')).trim()) - Date.now() / 1000 > 3500, 'the shadowed clock reads an hour ahead');
    const r = await audit();
    t.equal(r.code, 3, 'the audit fails');
    t.match(line(r.findings, 'tl-clock', 'clock', 'offset'), { level: 'failure', message: /^OFF BY 1 h ahead of the controller's clock/ });
    t.match(line(r.findings, 'tl-db', 'clock', 'offset'), { level: 'ok', message: /^within \d+ ms of the controller's clock/ });
    t.match(line(r.findings, 'tl-db', 'clock', 'sync'), { level: 'warning', message: /^unknown, no time sync daemon/ });
    const facts = await ironclad([...inv, '--json', 'facts', 'tl-clock', '--only', 'clock']);
    const clock = JSON.parse(facts.stdout).hosts[0].facts.clock;
    t.ok(Math.abs(clock.offset.offset_ms - 3_600_000) < 5_000, `ironclad facts says an hour ahead too (${clock.offset.offset_ms} ms)`);
    t.match(clock.sync, { state: 'unknown' });
    const text = await ironclad([...inv, 'audit']);
    t.match(text.stdout, /FAIL +clock +offset: OFF BY 1 h ahead/);
    await lab.sshOk('tl-clock', 'rm /usr/local/bin/date');
    const back = await audit();
    t.match(line(back.findings, 'tl-clock', 'clock', 'offset'), { level: 'ok' });
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
