// census.sh and a cluster made by `ironclad pitr restore` beside the original: its pin
// (/var/lib/ironclad/restored/CLUSTER.json) describes it as a restore of H at T, a note, never the original's
// identity; a pin that cannot be believed (not JSON, another shape, a link, naming the inventory's cluster, another
// system identifier) is named as such and the cluster judged like any other.
import t from 'tap';
import { parseCensus } from '../../src/instances/parse.js';
import { instanceLine } from '../../src/instances/report.js';
import { runCensus, type FakeHost, type FakeProcess } from '../fixtures/instances/fakehost.js';

const MAIN = '@/data/15/main';
const RESTORED = '@/data/15/pitr_incident';
const SYSID = '7311234567890123456';
const OTHER = '7399999999999999999';
const EXPECT = ['--expect', '15/main:5432'];

const postmaster = (pid: number, dir: string, port: number): FakeProcess => ({ pid, ppid: 1, args: ['/usr/lib/postgresql/15/bin/postgres', '-D', dir, '-p', String(port)], cwd: dir });
const tcp = (port: number, pid: number) => `LISTEN 0      244          127.0.0.1:${port}        0.0.0.0:*    users:(("postgres",pid=${pid},fd=6))`;
const lsc = (name: string, port: number, status: string, dir: string) => `15  ${name}    ${port} ${status} postgres ${dir} /var/log/postgresql/postgresql-15-${name}.log`;
const identity = JSON.stringify([{ cluster: 'main', version: 15, port: 5432, data_directory: MAIN, system_identifier: SYSID, pinned_at: '2026-01-01T00:00:00Z' }]);
const pin = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ cluster: 'pitr_incident', version: 15, port: 5433, data_directory: RESTORED, system_identifier: SYSID, restored_from: 'db-prod', base: '20261202T020000Z', target: '2026-12-02 21:15:00+00:00', pinned_at: '2026-12-03T09:00:00Z', ...over });

/** 15/main as pinned on 5432 and, beside it, the restore 15/pitr_incident on 5433 (its system identifier `sysid`). */
function beside(restored: FakeHost['restored'], sysid = SYSID, running = true): FakeHost {
  return {
    processes: [postmaster(100, MAIN, 5432), ...(running ? [postmaster(200, RESTORED, 5433)] : [])],
    datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 100, port: 5432 } }, { path: RESTORED, sysid, ...(running ? { pidfile: { pid: 200, port: 5433 } } : {}) }],
    identity,
    ss: { tcp: [tcp(5432, 100), ...(running ? [tcp(5433, 200)] : [])].join('\n'), unix: '' },
    lsclusters: [lsc('main', 5432, 'online', MAIN), lsc('pitr_incident', 5433, running ? 'online' : 'down', RESTORED)].join('\n'),
    restored,
  };
}

const secondRunning = /^a second PostgreSQL is running: cluster 15\/pitr_incident, pid 200 on port 5433 from @\/data\/15\/pitr_incident \(not in the inventory\)\./;
const rows: { name: string; host: FakeHost; code: number; problems: RegExp[]; notes?: RegExp[] }[] = [
  {
    name: 'a restore beside the original, described by its pin: a note, the original clean',
    host: beside({ 'pitr_incident.json': pin() }),
    code: 0,
    problems: [],
    notes: [/^cluster 15\/pitr_incident, pid 200 on port 5433 from @\/data\/15\/pitr_incident is a restore of db-prod at 2026-12-02 21:15:00\+00:00 \(ironclad pitr restore, pinned 2026-12-03T09:00:00Z\); it has the system identifier of the original, but it is not the original\. Drop it when done \(pg_dropcluster --stop 15 pitr_incident\)\.$/],
  },
  { name: 'a restore to the end of the archive', host: beside({ 'pitr_incident.json': pin({ target: 'latest' }) }), code: 0, problems: [], notes: [/is a restore of db-prod at the end of its archive/] },
  { name: 'the same cluster without a pin: a second PostgreSQL, a copy', host: beside(undefined), code: 3, problems: [new RegExp(secondRunning.source + '.* It is a copy of 15/main')] },
  {
    name: 'a pin of another system identifier does not describe it',
    host: beside({ 'pitr_incident.json': pin() }, OTHER),
    code: 3,
    problems: [new RegExp(secondRunning.source + `.* Its restore pin @/restored/pitr_incident.json says system identifier ${SYSID}, it holds ${OTHER}: the pin does not describe it\\.$`)],
  },
  {
    name: 'a pin that is not JSON',
    host: beside({ 'pitr_incident.json': 'rm -rf /' }),
    code: 3,
    problems: [new RegExp(secondRunning.source + '.* Its restore pin @/restored/pitr_incident.json is not valid \\(it is not one JSON object\\)\\.$')],
    notes: [/^the restore pin @\/restored\/pitr_incident\.json is not believed \(it is not one JSON object\): the cluster it names is judged like any other$/],
  },
  { name: 'a pin of another cluster than its file name', host: beside({ 'pitr_incident.json': pin({ cluster: 'other' }) }), code: 3, problems: [/is not valid \(it does not name the cluster of its file name\)/] },
  { name: 'a host restored from that is not a name', host: beside({ 'pitr_incident.json': pin({ restored_from: '$(reboot)' }) }), code: 3, problems: [/is not valid \(it does not name the host restored from\)/] },
  { name: 'a target that is not a time', host: beside({ 'pitr_incident.json': pin({ target: 'yesterday' }) }), code: 3, problems: [/is not valid \(its target is not a time\)/] },
  { name: 'a data directory with a quote', host: beside({ 'pitr_incident.json': pin({ data_directory: "@/data/15/pitr'x" }) }), code: 3, problems: [/is not valid \(its data directory is not a plain absolute path\)/] },
  { name: 'a pin that is a link', host: beside({ 'pitr_incident.json': { link: '@/identity.json' } }), code: 3, problems: [/is not valid \(it is not a regular file\)/] },
  {
    name: "a pin naming the original's cluster is not believed: the original stays the original",
    host: beside({ 'main.json': pin({ cluster: 'main', data_directory: MAIN, port: 5432 }) }, SYSID, false),
    code: 0,
    problems: [],
    notes: [/^the restore pin @\/restored\/main\.json is not believed \(it names 15\/main of the inventory\)/],
  },
  {
    name: "a pin naming the original's data directory does not excuse a changed identity",
    host: { ...beside({ 'pitr_x.json': pin({ cluster: 'pitr_x', data_directory: MAIN }) }, SYSID, false), identity: identity.replace(SYSID, OTHER) },
    code: 3,
    problems: [/^the system identifier of 15\/main changed/],
    notes: [/pitr_x\.json is not believed \(it names 15\/main of the inventory\)/],
  },
  { name: 'a restore that is down: a note', host: beside({ 'pitr_incident.json': pin() }, SYSID, false), code: 0, problems: [], notes: [/^cluster 15\/pitr_incident \(port 5433, @\/data\/15\/pitr_incident\) is a restore of db-prod at .*; it is down$/] },
  { name: 'a leftover pin', host: { ...beside(undefined, SYSID, false), lsclusters: lsc('main', 5432, 'online', MAIN), restored: { 'pitr_gone.json': pin({ cluster: 'pitr_gone', data_directory: '@/data/15/pitr_gone' }) } }, code: 0, problems: [], notes: [/pitr_gone\.json names 15\/pitr_gone .* which is not here/] },
  { name: 'a file name that is not a cluster name', host: beside({ 'Bad Name.json': pin() }), code: 3, problems: [secondRunning], notes: [/Bad Name\.json is not believed \(its name is not a cluster name\)/] },
];

for (const row of rows) {
  t.test(row.name, async (t) => {
    const run = runCensus(row.host, EXPECT);
    t.equal(run.code, row.code, run.stderr || run.stdout);
    t.equal(run.problems.length, row.problems.length, run.problems.join('\n'));
    row.problems.forEach((p, i) => t.match(run.problems[i], p));
    for (const n of row.notes ?? []) t.ok(run.notes.some((x) => n.test(x)), `a note ${n}\n${run.notes.join('\n')}`);
    const report = parseCensus(run.stdout);
    t.equal(report.instances.find((i) => i.port === 5432)?.expected_as, '15/main', 'the original is the expected cluster');
    t.notOk(report.instances.find((i) => i.port === 5432)?.restore_of, 'and never a restore');
  });
}

t.test('the instance says what it is restored from, in --json and in words', async (t) => {
  const report = parseCensus(runCensus(beside({ 'pitr_incident.json': pin() }), EXPECT).stdout);
  const r = report.instances.find((i) => i.port === 5433)!;
  t.match(r, { expected_as: null, cluster: '15/pitr_incident', system_identifier: SYSID, restore_of: { host: 'db-prod', target: '2026-12-02 21:15:00+00:00', pinned_at: '2026-12-03T09:00:00Z' } });
  t.match(instanceLine(r), /cluster 15\/pitr_incident, a restore of db-prod at 2026-12-02 21:15:00\+00:00  seen by/);
  t.notOk(parseCensus(runCensus(beside({ 'pitr_incident.json': pin() }, OTHER), EXPECT).stdout).instances.find((i) => i.port === 5433)!.restore_of, 'a pin that does not describe it');
});
