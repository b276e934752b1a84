// The routine check as a host job, run for real on this machine with sh alone (both trees here: the source reached
// with `sh -c`, as a pair on one host is): shellcheck-clean, its record and coverage where `images check`, `compare`
// and `audit` read them, the same counts as the CLI's comparison, rot on the source, the alert; and apply's steps.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { coveragePath } from '../../src/images/check.js';
import { CHECK_CACHE_DIR, checkJobPaths, checkJobSteps, renderCheckCron, renderCheckJob, unitsOf } from '../../src/images/check-job.js';
import { imageCheckJobs, judgeCheck } from '../../src/images/check-plan.js';
import { compareImages } from '../../src/images/compare.js';
import { parseCoverageState } from '../../src/images/coverage.js';
import { runHere } from '../../src/images/local-run.js';
import { parseRecord, recordPath } from '../../src/images/record.js';
import type { Host, ImagePair } from '../../src/inventory/types.js';
import { flipBit, localSide, replicaWithDiscrepancies, sourceTree } from './fixtures/trees.js';

const PROBLEMS = ['missing', 'extra', 'size_mismatch', 'content_mismatch', 'source_rot', 'unreadable'] as const;

/** The files of root's job cache (CHECK_CACHE_DIR) for these trees, named by the hash of their resolved paths. */
const cacheKey = (tree: string) => createHash('sha256').update(`${realpathSync(tree)}\n`).digest('hex').slice(0, 16);
function cacheFiles(...trees: string[]): string[] {
  const keys = trees.map((tree) => (/^[0-9a-f]{16}$/.test(tree) ? tree : cacheKey(tree)));
  return existsSync(CHECK_CACHE_DIR) ? readdirSync(CHECK_CACHE_DIR).filter((f) => keys.some((k) => f.startsWith(`${k}.`))) : [];
}

function setup(t: Test, check: ImagePair['check']) {
  const dir = t.testdir();
  const name = `job-test-${randomBytes(4).toString('hex')}`;
  t.teardown(() => [coveragePath(name), recordPath(name), `${coveragePath(name)}.lock`].forEach((f) => rmSync(f, { force: true })));
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  const keys = [cacheKey(join(dir, 'src')), cacheKey(join(dir, 'dst'))];
  t.teardown(() => cacheFiles(...keys).forEach((f) => rmSync(join(CHECK_CACHE_DIR, f), { recursive: true, force: true })));
  const pair: ImagePair = { name, source: { host: 'h', path: join(dir, 'src') }, replica: { host: 'h', path: join(dir, 'dst') }, check };
  const job = join(dir, 'job');
  writeFileSync(job, renderCheckJob(pair, null));
  chmodSync(job, 0o755);
  const run = () => runHere('h', `HOME=${join(dir, 'home')} PATH=/usr/sbin:/usr/bin:/sbin:/bin ${job}`); // as cron runs it: no Node.js on the PATH
  const record = () => parseRecord(readFileSync(recordPath(name), 'utf8'))!;
  return { dir, pair, job, run, record, cache: join(dir, 'home', '.cache', 'ironclad', 'images') };
}

t.test('the rendered job is shellcheck-clean, and every value from the inventory is quoted', async (t) => {
  const pair: ImagePair = { name: 'up.loads', source: { host: 'a', path: "/srv/it's $(rm -rf /)" }, replica: { host: 'b', path: '/r `x`' }, check: { schedule: 'daily', alert: { command: "mail -s 'rot' ops@example.com" } } };
  const text = renderCheckJob(pair, { user: 'root', address: '10.0.0.11', port: 2222 });
  t.match(text, `source_call() { ssh -n -i /var/lib/ironclad/images/keys/ironclad-images-check-up_loads -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/var/lib/ironclad/images/keys/ironclad-images-check-up_loads.known_hosts -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -p 2222 -- root@10.0.0.11 "$*"; }`);
  t.notMatch(text, /^(SOURCE_ROOT|SOURCE_SIDE)=/m, "a remote source's tree is fixed by its entry point there, not sent by the job");
  t.match(text, `REPLICA_ROOT='/r \`x\`'\n`);
  t.match(text, `ALERT='mail -s '\\''rot'\\'' ops@example.com'\n`);
  const dir = t.testdir();
  writeFileSync(join(dir, 'job'), text);
  const sc = spawnSync('shellcheck', ['-s', 'sh', join(dir, 'job')], { encoding: 'utf8' });
  t.equal(sc.stdout + sc.stderr, '', 'shellcheck: nothing to say');
  const local = renderCheckJob(pair, null);
  writeFileSync(join(dir, 'local'), local);
  const lc = spawnSync('shellcheck', ['-s', 'sh', join(dir, 'local')], { encoding: 'utf8' });
  t.equal(lc.stdout + lc.stderr, '', 'shellcheck: nothing to say of a pair on one host either');
  writeFileSync(join(dir, 'vars'), local.slice(0, local.indexOf('source_call()')));
  const vars = execFileSync('sh', ['-c', `. ${join(dir, 'vars')}; printf '%s\\n' "$SOURCE_ROOT" "$REPLICA_ROOT" "$UNIT"`]).toString();
  t.equal(vars, `/srv/it's $(rm -rf /)\n/r \`x\`\nironclad-images-check-up_loads\n`, 'read back as written');
});

t.test('a run as cron starts it: the record and coverage images check and audit read; then a slice a run', async (t) => {
  const s = setup(t, { schedule: '*-*-* 03:30:00', days: 4 });
  const q = join(s.dir, 'dst', '.ironclad-quarantine');
  execFileSync('mkdir', ['-p', join(q, '20200101T000000Z-abcdef', 'photos'), join(q, '29990101T000000Z-abcdef')]);
  const first = await s.run();
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, new RegExp(`^images check ${s.pair.name} \\(h:\\S+ -> \\S+, (blake3|sha256)\\): 17 equal, 0 discrepancies, 0 unreadable directories; 100% verified within 4 days, oldest 0 days ago\\n  quarantine 20200101T000000Z-abcdef removed \\(older than its days\\)\\n$`));
  t.same(readdirSync(q), ['29990101T000000Z-abcdef'], 'quarantined files go by age (30 days by default), the rest stays');
  const rec = s.record();
  t.match(rec, { name: s.pair.name, ok: true, mode: 'rehash', source: { files: 17 }, replica: { files: 17 }, equal: 17, walk_errors: 0, coverage: { verified_fraction: 1, oldest_days: 0, days: 4, never: 0, stale: 0, text: '100% verified within 4 days, oldest 0 days ago' } });
  t.same(rec.counts, Object.fromEntries(PROBLEMS.map((p) => [p, 0])));
  t.match(judgeCheck(s.pair, rec, new Date()), { level: 'ok', message: '100% verified within 4 days, oldest 0 days ago' }, "the audit's verdict");
  const state = parseCoverageState(readFileSync(coveragePath(s.pair.name), 'utf8'));
  t.match(state, { slices: 4, bytes: rec.source.bytes }, 'the state images check continues from');
  t.equal(state!.verified.filter((v) => v === rec.at).length, 4, 'every slice verified now');

  const second = await s.run();
  t.equal(second.code, 0, second.stderr);
  const next = parseCoverageState(readFileSync(coveragePath(s.pair.name), 'utf8'))!;
  t.match(s.record(), { mode: 'slice', coverage: { verified_fraction: 1 } });
  t.equal(next.verified.filter((v) => v !== rec.at).length, 1, 'one slice verified again');
  t.not(next.verified[0], rec.at, 'slice 0 first (all were equally old)');
});

t.test("as systemd runs it (no HOME): the replica's hash cache in root's own directory, never /tmp/.cache", { skip: process.getuid?.() === 0 ? false : 'needs root (the job writes /var/lib/ironclad)' }, async (t) => {
  const s = setup(t, { schedule: 'daily' });
  const dst = join(s.dir, 'dst');
  const tmpBefore = existsSync('/tmp/.cache/ironclad/images') ? readdirSync('/tmp/.cache/ironclad/images').length : 0;
  const r = await runHere('h', `cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${s.job}`);
  t.equal(r.code, 0, r.stderr);
  t.match(cacheFiles(dst), [/^[0-9a-f]{16}\.(blake3|sha256)\.tsv$/], `the replica's cache is in ${CHECK_CACHE_DIR}`);
  t.match(cacheFiles(join(s.dir, 'src')), [/\.tsv$/], "a source on the same host: scan.sh's own fallback without HOME (root's), not /tmp");
  const st = statSync(CHECK_CACHE_DIR);
  t.equal(`${st.uid} ${(st.mode & 0o777).toString(8)}`, '0 700', "root's, 0700");
  t.equal(existsSync('/tmp/.cache/ironclad/images') ? readdirSync('/tmp/.cache/ironclad/images').length : 0, tmpBefore, 'nothing new in /tmp/.cache');
  const withHome = await s.run();
  t.equal(withHome.code, 0, withHome.stderr);
  t.notOk(existsSync(join(s.cache)) && readdirSync(s.cache).some((f) => cacheFiles(dst).includes(f)), "with a HOME (cron) the replica's cache stays in root's directory too");
});

t.test('discrepancies and rot on the source: the counts of images compare, exit 3, the alert with the summary', async (t) => {
  const s = setup(t, { schedule: '*-*-* 03:30:00', days: 1 });
  t.equal((await s.run()).code, 0);
  rmSync(join(s.dir, 'dst'), { recursive: true });
  replicaWithDiscrepancies(join(s.dir, 'src'), join(s.dir, 'dst'));
  flipBit(join(s.dir, 'src', 'photos/same.jpg'));
  s.pair.check!.alert = { command: `cat >${join(s.dir, 'alert')}; echo "pair=$IRONCLAD_IMAGES_PAIR" >>${join(s.dir, 'alert')}` };
  writeFileSync(s.job, renderCheckJob(s.pair, null));
  const r = await s.run();
  t.equal(r.code, 3, r.stderr);
  const rec = s.record();
  const cli = await compareImages({ name: 'x', source: localSide('source', join(s.dir, 'src'), s.cache), replica: localSide('replica', join(s.dir, 'dst'), s.cache), hash: 'crypto', mode: { kind: 'cached' } });
  t.same(rec.counts, cli.counts, 'the same counts as images compare');
  t.match(rec.counts, { missing: 1, extra: 1, size_mismatch: 1, content_mismatch: 2, source_rot: 1 });
  t.match(rec, { ok: false, equal: cli.equal, source: { files: cli.source.files, bytes: cli.source.bytes }, replica: { files: cli.replica.files, bytes: cli.replica.bytes } });
  t.match(judgeCheck(s.pair, rec, new Date()), { level: 'failure', message: /ROT ON THE SOURCE: 1 file/ });
  const alert = readFileSync(join(s.dir, 'alert'), 'utf8');
  t.match(alert, /^images check job-test-\S+ .*: \d+ equal, 6 discrepancies/);
  t.match(alert, /source_rot=1\n/);
  t.match(alert, `pair=${s.pair.name}\n`);
});

t.test('apply: install, nothing on a second run, systemd units, removal', async (t) => {
  const pair: ImagePair = { name: 'uploads', source: { host: 'a', path: '/s' }, replica: { host: 'b', path: '/r' }, check: { schedule: '*-*-* 03:30:00' } };
  const hosts = [{ name: 'a', address: '10.0.0.11', ssh: { user: 'root', port: 22 } }] as unknown as Host[];
  const jobs = imageCheckJobs({ images: [pair] });
  const p = checkJobPaths('ironclad-images-check-uploads');
  const steps = (files: [string, string][], systemd = false, js = jobs) => checkJobSteps({ jobs: js, pairs: [pair], hosts, have: { systemd, files: new Map(files) } });
  const fresh = steps([]);
  t.same(fresh.map((c) => c.description), [`install the routine image check of uploads (${p.job})`, `install its schedule *-*-* 03:30:00 (cron) (${p.cron})`]);
  t.match(fresh[0].commands, [{ kind: 'sh', script: 'mkdir -p /var/lib/ironclad/images' }, { kind: 'upload', path: p.job, mode: '755' }]);
  t.match(renderCheckCron(jobs[0]), '30 3 * * * root /usr/local/sbin/ironclad-images-check-uploads >/var/lib/ironclad/images/uploads.check.log 2>&1\n');
  const installed: [string, string][] = fresh.map((c) => c.commands.at(-1)!).map((c) => (c.kind === 'upload' ? [c.path, c.content] : ['', '']));
  t.same(steps(installed), [], 'a second apply changes nothing');
  t.same(steps([]).length, 2);
  t.same(steps([], true).map((c) => c.description.split(' (')[0]), ['install the routine image check of uploads', 'install its service unit', 'install its timer *-*-* 03:30:00', 'enable the timer of the routine image check of uploads']);
  const gone = steps(installed, false, []);
  t.same(gone.map((c) => c.commands), [[{ kind: 'sh', script: `rm -f ${p.job} ${p.cron}` }]], 'removed when the inventory no longer asks');
  t.same(unitsOf([p.job, p.timer, `${p.service}`, '/etc/cron.d/other', '/etc/cron.d/ironclad-images-check-a_b']), ['ironclad-images-check-a_b', 'ironclad-images-check-uploads']);
});

t.test('a source it cannot reach: exit 1, named, and the last record left as it was', async (t) => {
  const s = setup(t, { schedule: '*-*-* 03:30:00', days: 1 });
  t.equal((await s.run()).code, 0);
  const before = readFileSync(recordPath(s.pair.name), 'utf8');
  writeFileSync(s.job, renderCheckJob(s.pair, { user: 'root', address: '127.0.0.1', port: 1 }));
  const r = await s.run();
  t.equal(r.code, 1);
  t.match(r.stderr, new RegExp(`^ironclad-images-check ${s.pair.name}: cannot probe the source h:\\S+: .*(refused|Connection)`, 'm'));
  t.equal(readFileSync(recordPath(s.pair.name), 'utf8'), before);
});

t.test("check-coverage.awk plans as planSlices does; a state it cannot use is not believed, its bytes neither", async (t) => {
  const dir = t.testdir();
  const plan = (state: string, budget: number) => {
    execFileSync('awk', ['-v', `state=${state}`, '-v', 'days=4', '-v', 'rpd=1', '-v', `budget=${budget}`, '-v', 'op=plan', '-v', `f=${join(dir, 'plan')}`, readFileSync(new URL('../../src/images/check-coverage.awk', import.meta.url), 'utf8')], { input: '' });
    return readFileSync(join(dir, 'plan'), 'utf8');
  };
  const at = '"2026-12-01T03:30:00.000Z"';
  t.equal(plan(`{"slices":4,"verified":[${at},${at},null,${at}],"bytes":100}`, 0), 'slices=4\nslice=2\nfirst=0\n', 'the slice never verified first');
  t.equal(plan(`{"slices":4,"verified":[${at},${at},${at},${at}],"bytes":100}`, 10), 'slices=10\nslice=0\nfirst=0\n', 'more slices when one would pass the budget');
  t.equal(plan(`{"slices":2,"verified":[null],"bytes":100}`, 10), 'slices=4\nslice=0\nfirst=0\n', 'a torn state: its bytes not used');
  t.equal(plan('', 0), 'slices=4\nslice=0\nfirst=1\n', 'no state, no budget: hash everything');
});
