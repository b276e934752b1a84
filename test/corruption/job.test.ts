import { spawnSync } from 'node:child_process';
import t from 'tap';
import { amcheckSpec, amcheckSteps, renderAmcheckJob, renderAmcheckCron, AMCHECK_DEFAULT_SCHEDULE } from '../../src/corruption/job.js';
import { INTEGRITY_PATHS as P } from '../../src/corruption/paths.js';
import type { IntegrityFact } from '../../src/facts/integrity.js';
import type { Host } from '../../src/inventory/types.js';

const host = (tags: string[], amcheck?: NonNullable<Host['postgres']>['amcheck']): Host =>
  ({ name: 'db-prod', address: '10.0.0.1', tags, ssh: { user: 'root', port: 22, identity_file: 'k', known_hosts: 'h' }, postgres: { version: 15, cluster: 'main', port: 5432, ...(amcheck ? { amcheck } : {}) } });
const none: IntegrityFact = { clusters: [], files: { job: null, cron: null, service: null, timer: null }, last: null, findings: [], cleared: null };

t.test('who gets an amcheck, and when', async (t) => {
  t.same(amcheckSpec(host(['production'])), { schedule: AMCHECK_DEFAULT_SCHEDULE, heapallindexed: false }, 'production: on by default, weekly');
  t.equal(amcheckSpec(host(['staging'])), null, 'others: only when asked');
  t.same(amcheckSpec(host(['staging'], { schedule: 'daily' })), { schedule: 'daily', heapallindexed: false });
  t.equal(amcheckSpec(host(['production'], { enabled: false })), null, 'production may turn it off');
  t.same(amcheckSpec(host([], { heapallindexed: true })), { schedule: AMCHECK_DEFAULT_SCHEDULE, heapallindexed: true });
  t.equal(amcheckSpec({ ...host(['production']), postgres: undefined }), null, 'no postgres, no check');
});

t.test('install once, then nothing; cron without systemd, a timer with it', async (t) => {
  const h = host(['production']);
  const first = amcheckSteps({ host: h, integrity: none, systemd: false });
  t.same(first.map((s) => s.kind === 'change' && s.change.description.split(' (')[0]), ['create /var/lib/ironclad/integrity', 'install the amcheck job', 'install the amcheck schedule Sun *-*-* 03:30:00']);
  const cron = renderAmcheckCron(h, '30 3 * * 0');
  t.match(cron, /^30 3 \* \* 0 root \/usr\/local\/sbin\/ironclad-amcheck/m);
  const installed: IntegrityFact = { ...none, files: { job: renderAmcheckJob(h), cron, service: null, timer: null } };
  t.same(amcheckSteps({ host: h, integrity: installed, systemd: false }), [], 'a second apply changes nothing');
  const timer = amcheckSteps({ host: h, integrity: installed, systemd: true }).map((s) => s.kind === 'change' && s.change.description);
  t.match(timer, [/amcheck service unit/, /amcheck timer/, /enable the amcheck timer/]);
});

t.test('removed when the inventory turns it off; a bad schedule is a refusal naming the field', async (t) => {
  const installed: IntegrityFact = { ...none, files: { job: 'x', cron: 'y', service: null, timer: null } };
  const [rm] = amcheckSteps({ host: host(['production'], { enabled: false }), integrity: installed, systemd: false });
  t.ok(rm.kind === 'change' && rm.change.commands[0].kind === 'sh' && rm.change.commands[0].script === `rm -f ${P.job} ${P.cron}`);
  t.same(amcheckSteps({ host: host(['staging']), integrity: none, systemd: false }), []);
  const [bad] = amcheckSteps({ host: host(['production'], { schedule: 'every full moon' }), integrity: none, systemd: false });
  t.ok(bad.kind === 'refusal' && /^hosts\.db-prod\.postgres\.amcheck\.schedule: 'every full moon' is not a schedule/.test(bad.refusal.message));
});

t.test('the rendered job is shellcheck-clean POSIX sh', async (t) => {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: renderAmcheckJob(host(['production'], { heapallindexed: true })), encoding: 'utf8' });
  if (r.error) return t.plan(0, 'shellcheck not installed');
  t.equal(r.status, 0, r.stdout);
});
