// End to end on lab hosts: an estate that is never all up. With staging's link down, a run limited to
// db-prod,backup-far (apply, backup run, audit, facts, census) never contacts nor names staging; a full run converges
// the others, exits 1 and names staging; the next run with staging back converges it. A host lost in the middle of a
// command ends that command within the stated bound.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { sshConnector } from '../../src/connectors/ssh.js';
import { LOST_CONNECTION_S } from '../../src/core/timeouts.js';
import { ironclad, type CliResult } from './helpers/cli.js';
import { LAB_INVENTORY, labUnavailable, reText, withLab, type LabHandle } from './helpers/lab.js';

const SEED = readFileSync(new URL('../../inventory/lab-seed.sql', import.meta.url), 'utf8');
const inv = ['-i', LAB_INVENTORY];
const LIMIT = ['--limit', 'db-prod,backup-far'];
const MARKER = '/var/lib/ironclad/production';
const JOB = '/usr/local/sbin/ironclad-backup';
const CONF = '/etc/postgresql/15/main/conf.d/ironclad.conf';

interface HostJson {
  host: string;
  ok: boolean;
  error?: string;
}

const hostsOf = (r: CliResult): HostJson[] => JSON.parse(r.stdout).hosts;
const okOf = (r: CliResult) => Object.fromEntries(hostsOf(r).map((h) => [h.host, h.ok]));
const shown = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/** Staging's link down for the rest of a test, brought up again in its teardown even when the test fails. */
function stagingDown(t: Test, lab: LabHandle): { up(): Promise<void> } {
  const link = lab.host('staging').link;
  const set = (state: 'up' | 'down') => execFileSync('ip', ['link', 'set', link, state], { stdio: 'pipe' });
  let down = true;
  const up = async () => {
    if (!down) return;
    set('up');
    down = false;
    for (let i = 0; i < 100 && (await lab.ssh('staging', 'true')).code !== 0; i++) await new Promise((r) => setTimeout(r, 200));
  };
  t.teardown(async () => {
    try {
      await up();
    } catch {
      // the lab may already be gone (its own teardown removes the link)
    }
  });
  set('down');
  return { up };
}

/** Run the CLI and time it: a down host costs at most its connect timeout, not the run. */
async function timed(args: string[]): Promise<CliResult & { seconds: number }> {
  const started = Date.now();
  const r = await ironclad(args);
  return { ...r, seconds: (Date.now() - started) / 1000 };
}

async function main() {
  const lab = await withLab(t);
  const staging = lab.host('staging');
  const neverStaging = (t: Test, r: CliResult, what: string) => {
    t.notMatch(r.stdout + r.stderr, /staging/i, `${what}: staging never named`);
    t.notMatch(r.stdout + r.stderr, new RegExp(staging.address.replace(/\./g, '\\.')), `${what}: nor its address`);
  };

  await t.test('setup: the whole estate provisioned and wired, db-prod seeded', async (t) => {
    const r = await ironclad([...inv, 'apply', '--yes']);
    t.equal(r.code, 0, shown(r));
    await lab.sshOk('db-prod', 'cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -d app"', { stdin: SEED });
  });

  await t.test('--limit db-prod,backup-far with staging down: apply, backup run, audit, facts, census never contact staging', async (t) => {
    await lab.sshOk('db-prod', `rm -f ${JOB} ${MARKER}`);
    const link = stagingDown(t, lab);
    const apply = await timed([...inv, ...LIMIT, '--json', 'apply', '--yes']);
    t.equal(apply.code, 0, shown(apply));
    neverStaging(t, apply, 'apply');
    t.same(okOf(apply), { 'db-prod': true, 'backup-far': true });
    t.equal((await lab.ssh('db-prod', `test -x ${JOB} && test -f ${MARKER}`)).code, 0, 'db-prod converged: its marker and its backup job (the wiring to its store) are back');
    const again = await ironclad([...inv, ...LIMIT, '--json', 'apply', '--yes']);
    t.same(hostsOf(again).map((h) => [h.host, (h as HostJson & { changes: unknown[] }).changes.length]), [['db-prod', 0], ['backup-far', 0]], 'a second limited apply changes nothing');
    const backup = await ironclad([...inv, ...LIMIT, 'backup', 'run', '--host', 'db-prod']);
    t.equal(backup.code, 0, shown(backup));
    neverStaging(t, backup, 'backup run');
    const audit = await ironclad([...inv, ...LIMIT, '--json', 'audit']);
    t.not(audit.code, 1, `audit: no host failed\n${shown(audit)}`);
    neverStaging(t, audit, 'audit');
    t.same(hostsOf(audit).map((h) => [h.host, h.error]), [['db-prod', undefined], ['backup-far', undefined]], 'audit: both reached, no other host');
    const facts = await ironclad([...inv, ...LIMIT, '--json', 'facts', '--only', 'os']);
    t.equal(facts.code, 0, shown(facts));
    neverStaging(t, facts, 'facts');
    const census = await ironclad([...inv, ...LIMIT, 'check', 'instances']);
    t.equal(census.code, 0, shown(census));
    neverStaging(t, census, 'check instances');
    await link.up();
  });

  await t.test('staging down: a full run converges the others, reports each host, exits 1 naming staging', async (t) => {
    await lab.sshOk('db-prod', `rm -f ${MARKER}`);
    await lab.sshOk('app-prod', `rm -f ${MARKER}`);
    await lab.sshOk('staging', `rm -f ${CONF}`);
    const link = stagingDown(t, lab);
    const apply = await timed([...inv, '--json', 'apply', '--yes']);
    t.equal(apply.code, 1, shown(apply));
    t.same(okOf(apply), { 'db-prod': true, 'app-prod': true, 'backup-far': true, staging: false }, 'each host reported');
    t.match(hostsOf(apply).find((h) => h.host === 'staging')?.error, new RegExp(`^staging: cannot connect to root@${reText(lab.host('staging').address)}:22`));
    t.match(apply.stderr, /^ironclad: staging FAILED: cannot connect/m, 'stderr names staging');
    t.ok(apply.seconds < 60, `bounded: ${apply.seconds} s`);
    t.equal((await lab.ssh('db-prod', `test -f ${MARKER}`)).code, 0, 'db-prod converged');
    t.equal((await lab.ssh('app-prod', `test -f ${MARKER}`)).code, 0, 'app-prod converged');
    const text = await ironclad([...inv, 'apply', '--yes']);
    t.equal(text.code, 1);
    t.match(text.stdout, /^staging: FAILED {2}staging: cannot connect/m, 'the human report names it too');
    t.match(text.stdout, /^db-prod: ok, nothing to change$/m);

    const census = await timed([...inv, '--json', 'check', 'instances']);
    t.equal(census.code, 1, shown(census));
    t.same(okOf(census), { 'db-prod': true, staging: false });
    t.match(census.stderr, /^ironclad: staging FAILED/m);
    const facts = await timed([...inv, '--json', 'facts', '--only', 'os,clusters']);
    t.equal(facts.code, 1, shown(facts));
    t.same(okOf(facts), { 'db-prod': true, 'app-prod': true, 'backup-far': true, staging: false });
    const audit = await timed([...inv, '--json', 'audit']);
    t.equal(audit.code, 1, shown(audit));
    t.match(hostsOf(audit).find((h) => h.host === 'staging'), { ok: false, error: /^staging: cannot connect/ });
    t.ok(hostsOf(audit).find((h) => h.host === 'db-prod'), 'the others audited');
    t.match(audit.stderr, /^ironclad: staging FAILED/m);
    for (const r of [census, facts, audit]) t.ok(r.seconds < 60, `bounded: ${r.seconds} s`);

    await link.up();
    const back = await ironclad([...inv, '--json', 'apply', '--yes']);
    t.equal(back.code, 0, shown(back));
    t.same(okOf(back), { 'db-prod': true, 'app-prod': true, 'backup-far': true, staging: true });
    t.ok((hostsOf(back).find((h) => h.host === 'staging') as HostJson & { changes: unknown[] }).changes.length > 0, 'staging converged now');
    t.equal((await lab.ssh('staging', `test -f ${CONF}`)).code, 0, "staging's settings file is back");
    const quiet = await ironclad([...inv, '--json', 'apply', '--yes']);
    t.same(hostsOf(quiet).map((h) => (h as HostJson & { changes: unknown[] }).changes.length), [0, 0, 0, 0], 'and then nothing is left to change');
  });

  await t.test(`a host lost in the middle of a command: the command ends within ${LOST_CONNECTION_S} s, not at its own timeout`, async (t) => {
    const conn = await sshConnector(lab.inventory.hosts.find((h) => h.name === 'staging')!);
    t.teardown(() => conn.close());
    const running = conn.run('echo started; sleep 600', { timeoutMs: 900_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const link = stagingDown(t, lab);
    const lost = Date.now();
    const r = await running;
    const seconds = (Date.now() - lost) / 1000;
    t.equal(r.code, 255, `ended as a lost connection: ${r.stderr}`);
    t.match(r.stderr, /staging: connection lost: Keepalive timeout/, 'the reason is in its stderr (and the process lives on)');
    t.match(r.stdout, /started/);
    t.ok(seconds <= LOST_CONNECTION_S + 2, `ended ${seconds} s after the link went down`);
    await link.up();
  });
}

const why = labUnavailable();
if (why) t.plan(0, why);
else await main();
