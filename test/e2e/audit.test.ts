// End to end on lab hosts: a clean estate audits green; each injected problem turns its own line red, in the
// terminal, in --json and in the --html page, which headless Chromium opens (content and chart checked).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AuditReport, Finding } from '../../src/audit/types.js';
import { ironclad } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, withLab } from './helpers/lab.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const inv = ['-i', LAB_INVENTORY];
const tmp = mkdtempSync(join(tmpdir(), 'ironclad-audit-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** `ironclad audit --json` (and --html FILE when given): exit code, report, and its findings flattened. */
async function audit(html?: string) {
  const r = await ironclad([...inv, '--json', 'audit', ...(html ? ['--html', html] : [])]);
  const report = JSON.parse(r.stdout) as AuditReport;
  return { code: r.code, report, findings: report.hosts.flatMap((h) => h.findings) };
}

/** The one finding of a host, area and subject. */
function line(findings: Finding[], host: string, area: string, subject?: string): Finding | undefined {
  return findings.find((f) => f.host === host && f.area === area && (subject === undefined || f.subject === subject));
}

/** The page as headless Chromium sees it after parsing (the DOM it built, serialized). */
function chromiumDom(file: string): string {
  const profile = mkdtempSync(join(tmpdir(), 'ironclad-chromium-'));
  try {
    return execFileSync(
      'chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${file}`],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

const bars = (dom: string, metric: string) => [...dom.matchAll(new RegExp(`<svg class="chart" data-metric="${metric}"[^>]*data-host="db-prod" data-database="app"[\\s\\S]*?</svg>`, 'g'))].flatMap((m) => [...m[0].matchAll(/<rect class="(bar(?: drop)?)"[^>]*data-value="(\d+)"/g)].map((b) => ({ drop: b[1] === 'bar drop', value: Number(b[2]) })));

async function main() {
  const lab = await withLab(t);
  const sql = async (host: string, text: string) => (await lab.sshOk(host, `cd / && su postgres -c "psql -X -q -A -t -v ON_ERROR_STOP=1 -d app"`, { stdin: text })).trim();
  const images = (args: string[] = []) => ironclad([...inv, 'images', 'compare', 'uploads', ...args]);
  const tree = (root: string) => `set -e; rm -rf ${root}; mkdir -p ${root}/a; for i in 1 2 3 4 5; do seq 1 $((i * 500)) > ${root}/a/img_$i.jpg; done; touch -d '2024-01-02 03:04:05' ${root}/a/*`;

  await t.test('setup: provisioned, seeded, backed up with a restore drill, images compared', async (t) => {
    t.equal((await ironclad([...inv, 'apply', '--yes'])).code, 0, 'apply');
    await sql('db-prod', SEED);
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'backup');
    t.equal((await ironclad([...inv, 'backup', 'verify', '--latest', '--restore'])).code, 0, 'restore drill');
    await lab.sshOk('app-prod', tree('/srv/app/uploads'));
    await lab.sshOk('backup-far', tree('/srv/ironclad/images/uploads'));
    t.equal((await images()).code, 0, 'images equal');
  });

  await t.test('a clean estate audits green, on the terminal, in JSON and in the HTML page', async (t) => {
    const html = join(tmp, 'clean.html');
    const { code, report, findings } = await audit(html);
    t.equal(code, 0, findings.filter((f) => f.level === 'failure').map((f) => `${f.host} ${f.area}: ${f.message}`).join('\n'));
    t.equal(report.ok, true);
    t.same(findings.filter((f) => f.level === 'failure'), []);
    for (const [host, area, subject] of [['db-prod', 'drift'], ['db-prod', 'instances'], ['db-prod', 'backup', 'app'], ['db-prod', 'drill', 'app'], ['db-prod', 'job'], ['backup-far', 'images', 'uploads'], ['staging', 'unknown']])
      t.equal(line(findings, host!, area!, subject)?.level, 'ok', `${host} ${area} ${subject ?? ''}`);
    t.match(line(findings, 'backup-far', 'images', 'uploads')?.message, /5 files equal/);
    const text = await ironclad([...inv, 'audit']);
    t.equal(text.code, 0);
    t.match(text.stdout, /0 failures/);
    t.match(text.stdout, /^ {2}ok {4}instances census: exactly the expected instance/m);
    const dom = chromiumDom(html);
    t.match(dom, /<p class="summary ok" id="summary">audit of .*: \d+ ok, \d+ warnings?, 0 failures<\/p>/, 'Chromium shows the summary');
    t.same(bars(dom, 'rows').map((b) => b.drop), [false], 'one bar per backup in the rows chart, no drop');
    t.equal(bars(dom, 'bytes').length, 1, 'and in the size chart');
    t.notMatch(dom, /<tr class="failure"/);
    const limited = await ironclad([...inv, '--json', '--limit', 'db-prod', 'audit']);
    t.equal(limited.code, 0);
    const only = (JSON.parse(limited.stdout) as AuditReport).hosts.flatMap((h) => h.findings);
    t.match(line(only, 'db-prod', 'backup', 'app'), { level: 'warning', message: /not judged: its store backup-far/ }, '--limit db-prod does not contact its store');
    t.notOk(only.some((f) => f.host !== 'db-prod'), 'and audits no other host');
    const withStore = await ironclad([...inv, '--json', '--limit', 'db-prod,backup-far', 'audit']);
    t.equal(withStore.code, 0);
    t.equal(line((JSON.parse(withStore.stdout) as AuditReport).hosts.flatMap((h) => h.findings), 'db-prod', 'backup', 'app')?.level, 'ok', 'with its store in --limit its backups are judged');
  });

  /** Green again: exit 0, or the failures named (what stayed red). */
  const green = async (t: Test, message: string) => {
    const { code, findings } = await audit();
    t.equal(code, 0, `${message}${findings.filter((f) => f.level === 'failure').map((f) => `; still red: ${f.host} ${f.area} ${f.subject ?? ''}: ${f.message}`).join('')}`);
  };

  const red = async (t: Test, host: string, area: string, subject: string | undefined, message: RegExp) => {
    const { code, findings } = await audit();
    t.equal(code, 3, 'exit 3');
    const f = line(findings, host, area, subject);
    t.equal(f?.level, 'failure', `${host} ${area} ${subject ?? ''} is red`);
    t.match(`${f?.message}\n${f?.details.join('\n')}`, message);
    return findings;
  };

  await t.test('a second instance', async (t) => {
    await lab.sshOk('db-prod', 'pg_createcluster 15 rogue -p 5440 >/dev/null && pg_ctlcluster --skip-systemctl-redirect 15 rogue start');
    const findings = await red(t, 'db-prod', 'instances', 'census', /5440/);
    t.equal(line(findings, 'db-prod', 'unknown', 'cluster 15/rogue')?.level, 'failure', 'and an unknown cluster');
    t.equal(line(findings, 'staging', 'instances')?.level, 'ok', 'other hosts stay green');
  });

  await t.test('an unknown cluster, stopped', async (t) => {
    await lab.sshOk('db-prod', 'pg_ctlcluster --skip-systemctl-redirect 15 rogue stop');
    await red(t, 'db-prod', 'unknown', 'cluster 15/rogue', /UNKNOWN CLUSTER 15\/rogue \(port 5440, down/);
    await lab.sshOk('db-prod', 'pg_dropcluster 15 rogue');
    await green(t, 'green once it is gone');
  });

  await t.test('a changed setting', async (t) => {
    const conf = '/etc/postgresql/15/main/conf.d/ironclad.conf';
    await lab.sshOk('db-prod', `cp ${conf} /tmp/ironclad.conf.good && sed -i 's/^max_connections.*/max_connections = 42/' ${conf}`);
    await red(t, 'db-prod', 'drift', 'inventory', /max_connections/);
    await lab.sshOk('db-prod', `cat /tmp/ironclad.conf.good > ${conf}`);
    await green(t, 'green once it is put back');
  });

  await t.test('a missing image', async (t) => {
    await lab.sshOk('backup-far', 'mv /srv/ironclad/images/uploads/a/img_3.jpg /tmp/img_3.jpg');
    t.equal((await images()).code, 3, 'images compare finds it');
    await red(t, 'backup-far', 'images', 'uploads', /DISCREPANCIES compared .* ago: 1 missing/);
    await lab.sshOk('backup-far', 'mv /tmp/img_3.jpg /srv/ironclad/images/uploads/a/img_3.jpg');
    t.equal((await images()).code, 0);
    await green(t, 'green once it is back and compared');
  });

  await t.test('a stale backup', async (t) => {
    // the store's own record of when it received the backup is the time the audit judges (the host's clock is not)
    const [b] = JSON.parse((await ironclad([...inv, '--json', 'backup', 'list'])).stdout).backups;
    const m = `${b.path}/store.json`;
    const old = new Date(Date.now() - 3 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await lab.sshOk('backup-far', `cp ${m} /tmp/store.good && sed 's/"received_at": *"[^"]*"/"received_at":"${old}"/' /tmp/store.good > ${m}`);
    await red(t, 'db-prod', 'backup', 'app', /STALE: newest backup .* is 3 d/);
    await lab.sshOk('backup-far', `cat /tmp/store.good > ${m}`);
    await green(t, 'green once it is put back');
  });

  await t.test('a backup that shrank (within the job\'s own limit) turns the trend red and shows in the chart', async (t) => {
    await sql('db-prod', 'DELETE FROM events WHERE id % 20 < 9; DELETE FROM orders WHERE id % 20 < 9;');
    t.equal((await ironclad([...inv, 'backup', 'run', '--host', 'db-prod'])).code, 0, 'the job accepts it: under its 50% shrink limit');
    const html = join(tmp, 'shrunk.html');
    await red(t, 'db-prod', 'trend', 'app', /SHRANK[\s\S]*rows \d+ -> \d+ \(-3\d%\)/);
    await audit(html);
    const dom = chromiumDom(html);
    t.same(bars(dom, 'rows').map((b) => b.drop), [false, true], 'the newest bar is marked as a drop');
    const [before, after] = bars(dom, 'rows').map((b) => b.value);
    t.ok(after < before * 0.75, `rows ${before} -> ${after}`);
    t.match(dom, /<tr class="failure" data-area="trend" data-subject="app">/);
    t.match(dom, /<p class="summary failure"/);
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
