// census.sh itself, run for real on made-up hosts (a recorded /proc tree, data directories, stand-in tools):
// each rule of the single-instance check as a row of a table, plus shellcheck and usage.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';
import { censusScript } from '../../src/instances/script.js';
import { parseCensus } from '../../src/instances/parse.js';
import { runCensus, type FakeHost, type FakeProcess } from '../fixtures/instances/fakehost.js';

const MAIN = '@/data/15/main';
const SYSID = '7311234567890123456';
const OTHER_SYSID = '7399999999999999999';
const EXPECT = ['--expect', '15/main:5432'];

const pin = (sysid = SYSID, dataDirectory = MAIN) =>
  JSON.stringify([{ cluster: 'main', version: 15, port: 5432, data_directory: dataDirectory, system_identifier: sysid, pinned_at: '2026-01-01T00:00:00Z' }]);
const postmaster = (pid: number, dir: string, extra: Partial<FakeProcess> = {}): FakeProcess => ({
  pid,
  ppid: 1,
  args: ['/usr/lib/postgresql/15/bin/postgres', '-D', dir, '-c', 'config_file=/etc/postgresql/15/main/postgresql.conf'],
  cwd: dir,
  ...extra,
});
const child = (pid: number, ppid: number, dir = MAIN): FakeProcess => ({ pid, ppid, args: ['postgres: 15/main: checkpointer   '], cwd: dir });
const others: FakeProcess[] = [
  { pid: 1, ppid: 0, comm: 'init', args: ['/sbin/init'] },
  { pid: 47, ppid: 1, comm: 'sshd', args: ['sshd: /usr/sbin/sshd -D'] },
];
const tcp = (port: number, pid: number, name = 'postgres', address = '127.0.0.1') =>
  `LISTEN 0      244          ${address}:${port}        0.0.0.0:*    users:(("${name}",pid=${pid},fd=6))`;
const unix = (port: number, pid: number, name = 'postgres') =>
  `u_str LISTEN 0      244    /var/run/postgresql/.s.PGSQL.${port} 49279            * 0    users:(("${name}",pid=${pid},fd=7))`;
const cluster = (name: string, port: number, status: string, dir: string) => `15  ${name}    ${port} ${status} postgres ${dir} /var/log/postgresql/postgresql-15-${name}.log`;

/** A clean host: 15/main running from its pinned data directory on 5432, seen by every source. */
function clean(): Required<Pick<FakeHost, 'processes' | 'datadirs' | 'identity' | 'ss' | 'lsclusters'>> & FakeHost {
  return {
    processes: [...others, postmaster(100, MAIN), child(101, 100), child(102, 100)],
    datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 100, port: 5432 } }],
    identity: pin(),
    ss: { tcp: [tcp(5432, 100), tcp(22, 47, 'sshd', '0.0.0.0')].join('\n'), unix: unix(5432, 100) },
    lsclusters: cluster('main', 5432, 'online', MAIN),
  };
}

/** A second instance running from `dir` on `port` with `sysid`, seen by processes and sockets. */
function withSecond(h: ReturnType<typeof clean>, pid: number, dir: string, port: number, sysid: string): ReturnType<typeof clean> {
  return {
    ...h,
    processes: [...h.processes, postmaster(pid, dir, { args: ['/usr/lib/postgresql/15/bin/postgres', '-D', dir, '-p', String(port)] }), child(pid + 1, pid, dir)],
    datadirs: [...h.datadirs, { path: dir, sysid, pidfile: { pid, port } }],
    ss: { tcp: `${h.ss.tcp}\n${tcp(port, pid)}`, unix: `${h.ss.unix}\n${unix(port, pid)}` },
  };
}

/** 15/main stopped cleanly: no process, no socket, no pid file. */
function stopped(): ReturnType<typeof clean> {
  const h = clean();
  return { ...h, processes: others, datadirs: [{ path: MAIN, sysid: SYSID }], ss: { tcp: tcp(22, 47, 'sshd', '0.0.0.0'), unix: '' }, lsclusters: cluster('main', 5432, 'down', MAIN) };
}

interface Case {
  name: string;
  host: FakeHost;
  args?: string[];
  code: number;
  problems: RegExp[];
  notes?: RegExp[];
  instances?: number;
}

const notRunning = /^PostgreSQL 15\/main is not running \(expected on port 5432 from @\/data\/15\/main\)/;

const cases: Case[] = [
  { name: 'clean: the pinned 15/main and nothing else', host: clean(), code: 0, problems: [], instances: 1 },
  {
    name: 'a second cluster on another port',
    host: { ...withSecond(clean(), 200, '@/data/15/other', 5433, OTHER_SYSID), lsclusters: [cluster('main', 5432, 'online', MAIN), cluster('other', 5433, 'online', '@/data/15/other')].join('\n') },
    code: 3,
    problems: [/^a second PostgreSQL is running: cluster 15\/other, pid 200 on port 5433 from @\/data\/15\/other \(not in the inventory\)\. Backups could dump the wrong one\.$/],
    instances: 2,
  },
  {
    name: 'a second postmaster on a copy of the data directory',
    host: withSecond(clean(), 300, '@/srv/copy', 5434, SYSID),
    code: 3,
    problems: [/^a second PostgreSQL is running: pid 300 on port 5434 from @\/srv\/copy \(not in the inventory\)\..* It is a copy of 15\/main \(same system identifier\)/],
  },
  {
    name: 'the expected port answered by a freshly initialized cluster',
    host: withSecond(stopped(), 400, '@/srv/fresh', 5432, OTHER_SYSID),
    code: 3,
    problems: [notRunning, /^port 5432 is answered by another data directory: pid 400 on port 5432 from @\/srv\/fresh, system identifier 7399999999999999999, not by 15\/main \(@\/data\/15\/main\)\. A backup now would dump the wrong database, probably an empty one\.$/],
  },
  {
    name: 'the system identifier changed (re-initialized in place)',
    host: { ...clean(), identity: pin(OTHER_SYSID) },
    code: 3,
    problems: [/^the system identifier of 15\/main changed: 7399999999999999999 was pinned on 2026-01-01T00:00:00Z, @\/data\/15\/main now holds 7311234567890123456\. The data directory was re-initialized and is probably empty/],
  },
  {
    name: 'a stale postmaster.pid (the postmaster was killed)',
    host: { ...stopped(), datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 4242, port: 5432 } }] },
    code: 3,
    problems: [notRunning, /^a stale postmaster\.pid in @\/data\/15\/main names pid 4242, which is not running: PostgreSQL 15\/main was killed or crashed/],
  },
  {
    name: 'a stale postmaster.pid whose pid is now another program',
    host: { ...stopped(), datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 47, port: 5432 } }], lsclusters: cluster('main', 5432, 'online', MAIN) },
    code: 3,
    problems: [notRunning, /^a stale postmaster\.pid in @\/data\/15\/main names pid 47, which is now another program \(sshd\)/],
  },
  {
    name: 'a postmaster.pid without a pid',
    host: { ...stopped(), datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: '', port: 5432 } }] },
    code: 3,
    problems: [notRunning, /^the postmaster\.pid in @\/data\/15\/main has no process id on its first line: PostgreSQL 15\/main may have crashed/],
  },
  { name: 'the instance stopped', host: stopped(), code: 3, problems: [notRunning], instances: 0 },
  {
    name: 'the data directory is gone',
    host: { ...stopped(), datadirs: [] },
    code: 3,
    problems: [/^PostgreSQL 15\/main is missing: its data directory @\/data\/15\/main does not exist/],
  },
  {
    name: 'the expected cluster on the wrong port',
    host: { ...clean(), datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 100, port: 5433 } }], ss: { tcp: tcp(5433, 100), unix: unix(5433, 100) } },
    code: 3,
    problems: [/^PostgreSQL 15\/main runs on port 5433 \(pid 100\), but the inventory expects port 5432\.$/],
  },
  {
    name: 'a postgres container (docker ps and its process)',
    host: {
      ...clean(),
      processes: [...clean().processes, postmaster(500, '/var/lib/postgresql/data', { ppid: 490, args: ['postgres'], ns: { pid: 'pid:[9]', net: 'net:[9]', mnt: 'mnt:[9]' } })],
      docker: { ps: 'f00d\tpostgres:16\tapp-db-1\t0.0.0.0:5433->5432/tcp\nbeef\tnginx:1\tweb\t80/tcp\n', pids: { f00d: 500 } },
    },
    code: 3,
    problems: [/^a PostgreSQL in a container is running: docker container app-db-1 \(image postgres:16, ports 0\.0\.0\.0:5433->5432\/tcp\), pid 500, data directory \/var\/lib\/postgresql\/data inside it\. It is not in the inventory/],
  },
  {
    name: 'a postgres container seen only as a process in its own namespaces',
    host: { ...clean(), processes: [...clean().processes, postmaster(600, '/var/lib/postgresql/data', { ppid: 590, args: ['postgres'], ns: { pid: 'pid:[9]', net: 'net:[9]' } })] },
    code: 3,
    problems: [/^a PostgreSQL in a container is running: a container \(its own process or network namespace\), pid 600/],
  },
  {
    name: 'docker installed but its daemon down: a note, not a problem',
    host: { ...clean(), docker: { fails: 'Cannot connect to the Docker daemon' } },
    code: 0,
    problems: [],
    notes: [/^docker is installed but 'docker ps' failed \(Cannot connect to the Docker daemon\)/],
  },
  {
    name: 'docker installed, no daemon socket anywhere: not asked (it could only fail), a note',
    host: { ...clean(), docker: { fails: 'docker ps must not run without a daemon socket' }, dockerHost: false },
    code: 0,
    problems: [],
    notes: [/^docker is installed but no daemon socket is there \(\/var\/run\/docker\.sock; no DOCKER_HOST, DOCKER_CONTEXT or docker config\): its containers were not listed$/],
  },
  {
    name: 'a renamed postgres binary, seen only by its socket',
    host: { ...clean(), ss: { tcp: clean().ss.tcp, unix: `${clean().ss.unix}\n${unix(5440, 700, 'pgx')}` } },
    code: 3,
    problems: [/^a second PostgreSQL is running: pid 700 on port 5440 \(data directory unknown\) \(program pgx\), socket \/var\/run\/postgresql\/\.s\.PGSQL\.5440 \(not in the inventory\)/],
  },
  {
    name: "a backend forked for a new connection, still holding the postmaster's sockets: the same instance",
    host: {
      ...clean(),
      processes: [...clean().processes, child(150, 100)],
      ss: {
        tcp: clean().ss.tcp.replace('users:(("postgres",pid=100,fd=6))', 'users:(("postgres",pid=100,fd=6),("postgres",pid=150,fd=6),("postgres",pid=151,fd=6))'),
        unix: clean().ss.unix.replace('users:(("postgres",pid=100,fd=7))', 'users:(("postgres",pid=151,fd=7),("postgres",pid=100,fd=7))'),
      },
    },
    code: 0,
    problems: [],
    instances: 1,
  },
  {
    name: 'without ss: sockets from /proc/net (owners unknown)',
    host: {
      ...clean(),
      ss: undefined,
      procNet: {
        unix: 'Num       RefCount Protocol Flags    Type St Inode Path\n00000000: 00000002 00000000 00010000 0001 01 49279 /var/run/postgresql/.s.PGSQL.5432\n00000000: 00000002 00000000 00010000 0001 01 49300 /tmp/.s.PGSQL.5441\n',
        tcp: '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 49277 1\n',
      },
    },
    code: 3,
    problems: [/^a second PostgreSQL is running: pid unknown on port 5441 \(data directory unknown\), socket \/tmp\/\.s\.PGSQL\.5441/],
    notes: [/^ss is not available/],
  },
  {
    name: 'the expected port held by another program',
    host: { ...clean(), ss: { tcp: `${tcp(5432, 100)}\n${tcp(5432, 800, 'docker-proxy', '0.0.0.0')}`, unix: unix(5432, 100) } },
    code: 3,
    problems: [/^port 5432 is held by docker-proxy \(pid 800\) on 0\.0\.0\.0, not by 15\/main/],
  },
  {
    name: 'a -D naming a configuration directory: the data directory is the working directory, the port from -p',
    host: { ...clean(), processes: [...others, postmaster(100, MAIN, { args: ['postgres', '-D', '/etc/postgresql/15/main', '-p', '5432'] })] },
    code: 0,
    problems: [],
  },
  {
    name: 'identity.json that is not JSON',
    host: { ...clean(), identity: 'not json at all' },
    code: 3,
    problems: [/identity\.json is not JSON: the pinned identities cannot be checked/],
  },
  {
    name: 'identity.json with an entry lacking its system identifier',
    host: { ...clean(), identity: '[{"cluster":"main","version":15,"port":5432,"data_directory":"@/data/15/main"}]' },
    code: 3,
    problems: [/identity\.json: entry 1 lacks version, cluster, data_directory or system_identifier/],
    notes: [/^15\/main has no pinned identity yet/],
  },
  {
    name: 'no pin yet: clean, with a note',
    host: { ...clean(), identity: undefined },
    code: 0,
    problems: [],
    notes: [/^15\/main has no pinned identity yet/],
  },
  {
    name: 'an allowed extra cluster that runs is clean',
    host: withSecond(clean(), 200, '@/data/15/reports', 5433, OTHER_SYSID),
    args: [...EXPECT, '--allow', '15/reports:5433'],
    code: 0,
    problems: [],
    instances: 2,
  },
  {
    name: 'an allowed extra cluster that does not run is only a note',
    host: clean(),
    args: [...EXPECT, '--allow', '15/reports:5433'],
    code: 0,
    problems: [],
    notes: [/^PostgreSQL 15\/reports \(allowed on port 5433\) is not running$/],
  },
  {
    name: 'an unexpected cluster that is down and will not start by itself is a note',
    host: { ...clean(), lsclusters: [cluster('main', 5432, 'online', MAIN), cluster('old', 5439, 'down', '@/data/15/old')].join('\n') },
    code: 0,
    problems: [],
    notes: [/^cluster 15\/old \(port 5439, @\/data\/15\/old\) is configured but not in the inventory; it is down/],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const run = runCensus(c.host, c.args ?? EXPECT);
    t.equal(run.code, c.code, `exit code\n${run.stdout}${run.stderr}`);
    t.equal(run.problems.length, c.problems.length, `problems:\n${run.problems.join('\n')}`);
    for (const re of c.problems) t.ok(run.problems.some((p) => re.test(p)), `a problem matches ${re}\n${run.problems.join('\n')}`);
    for (const re of c.notes ?? []) t.ok(run.notes.some((n) => re.test(n)), `a note matches ${re}\n${run.notes.join('\n')}`);
    const report = parseCensus(run.stdout); // the TS parser reads every output the script makes
    t.same(report.problems, run.problems);
    if (c.instances !== undefined) t.equal(report.instances.length, c.instances, 'instances');
    t.equal(run.stderr, '', 'nothing on stderr');
  });
}

t.test('the clean census describes the instance and where it was seen', async (t) => {
  const report = parseCensus(runCensus(clean(), EXPECT).stdout);
  t.same(report.instances, [
    { port: 5432, data_directory: MAIN, pid: 100, system_identifier: SYSID, expected_as: '15/main', cluster: '15/main', container: null, sources: ['process', 'tcp', 'unix', 'pg_lsclusters', 'pidfile'] },
  ]);
  t.same(report.expected, [{ cluster: '15/main', port: 5432, data_directory: MAIN, system_identifier: SYSID, pinned_identifier: SYSID, pinned_at: '2026-01-01T00:00:00Z', required: true }]);
  t.same(report.notes, []);
});

t.test('without postgresql-common, ss and docker the census still judges, and says what it could not ask', async (t) => {
  const run = runCensus({ ...clean(), lsclusters: undefined, ss: undefined }, EXPECT);
  t.equal(run.code, 0);
  t.match(run.notes.join('\n'), /there is no @\/etc\/postgresql \(postgresql-common\): its clusters were not listed/);
  t.match(run.notes.join('\n'), /neither ss nor \/proc\/net/);
});

t.test('a cluster whose configuration holds shell code: named as text, nothing runs', async (t) => {
  const name = 'x$(touch${IFS}PWNED)';
  const dir = '@/data/15/`touch${IFS}PWNED2`;touch${IFS}PWNED3';
  const run = runCensus({ ...clean(), lsclusters: [cluster('main', 5432, 'online', MAIN), cluster(name, 5439, 'down', dir)].join('\n') }, EXPECT);
  t.equal(run.code, 0, run.stdout);
  t.ok(run.notes.includes(`cluster 15/${name} (port 5439, ${dir}) is configured but not in the inventory; it is down (start.conf: manual)`), run.notes.join('\n'));
  for (const f of ['PWNED', 'PWNED2', 'PWNED3']) t.notOk(existsSync(f), `${f} was not made`);
});

t.test('bad usage exits 2 with the reason', async (t) => {
  for (const args of [['--expect', 'main:5432'], ['--expect', '15/main:port'], ['--expect', '15/ma in:5432'], ['--frobnicate'], ['--expect']]) {
    const run = runCensus(clean(), args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.stderr, /^census: .*\nusage: census\.sh/, args.join(' '));
    t.equal(run.stdout, '');
  }
});

t.test('census.sh, with lsclusters.sh put in, is shellcheck-clean POSIX sh', async (t) => {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: censusScript(), encoding: 'utf8' });
  t.notOk(r.error, 'shellcheck is installed (apt-get install shellcheck)');
  t.equal(r.status, 0, r.stdout);
});
