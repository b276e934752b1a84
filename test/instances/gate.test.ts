// The gate the backup job embeds: shellcheck-clean, and it refuses (exit 3, problems on stderr) exactly when
// the census finds a problem; a census that cannot run refuses too (exit 1).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { GATE_FAILED, GATE_REFUSED, gateScript } from '../../src/instances/gate.js';
import type { Host } from '../../src/inventory/types.js';
import { buildFakeHost, type FakeHost } from '../fixtures/instances/fakehost.js';

const host: Host = {
  name: 'db-prod',
  address: '10.0.0.10',
  tags: ['production'],
  ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' },
  postgres: { version: 15, cluster: 'main', port: 5432 },
};

const MAIN = '@/data/15/main';
const SYSID = '7311234567890123456';
const identity = JSON.stringify([{ cluster: 'main', version: 15, port: 5432, data_directory: MAIN, system_identifier: SYSID, pinned_at: '2026-01-01T00:00:00Z' }]);
const clean: FakeHost = {
  processes: [{ pid: 100, ppid: 1, args: ['postgres', '-D', MAIN], cwd: MAIN }],
  datadirs: [{ path: MAIN, sysid: SYSID, pidfile: { pid: 100, port: 5432 } }],
  identity,
  ss: { tcp: 'LISTEN 0 244 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=100,fd=6))', unix: '' },
};

/** A job (set -eu, as jobs are) that embeds the gate, calls it, reports what it saw in its EXIT trap, then would do its work. */
function job(extra: string[]): string {
  return `#!/bin/sh
set -eu
${gateScript(host, extra)}
trap 'echo "exit trap: [$IRONCLAD_GATE_PROBLEMS]"' EXIT
ironclad_gate
echo 'the backup would run now'
`;
}

function runJob(spec: FakeHost, extra: (root: string) => string[] = (root) => ['--proc', join(root, 'proc'), '--identity', join(root, 'identity.json'), '--data-root', join(root, 'data'), '--conf-root', join(root, 'etc', 'postgresql')]) {
  const root = buildFakeHost(spec);
  try {
    const r = spawnSync('/bin/sh', ['-c', job(extra(root))], { encoding: 'utf8', env: { PATH: join(root, 'bin'), TMPDIR: root } });
    return { code: r.status, stdout: r.stdout.replaceAll(root, '@'), stderr: r.stderr.replaceAll(root, '@') };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

t.test('the gate text is shellcheck-clean POSIX sh, and the expectations are the inventory\'s', async (t) => {
  const text = job([]);
  t.match(text, /ironclad_gate_out=\$\(ironclad_census --expect 15\/main:5432\) \|\| ironclad_gate_rc=\$\?/);
  const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: text, encoding: 'utf8' });
  t.notOk(r.error, 'shellcheck is installed (apt-get install shellcheck)');
  t.equal(r.status, 0, r.stdout);
});

t.test('clean: the job goes on', async (t) => {
  const r = runJob(clean);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'the backup would run now\nexit trap: []\n');
  t.equal(r.stderr, '');
});

t.test('a second, empty instance on the port: refused with exit 3, problems on stderr and for the trap', async (t) => {
  const spec: FakeHost = {
    ...clean,
    processes: [{ pid: 400, ppid: 1, args: ['postgres', '-D', '@/srv/fresh'], cwd: '@/srv/fresh' }],
    datadirs: [{ path: MAIN, sysid: SYSID }, { path: '@/srv/fresh', sysid: '7399999999999999999', pidfile: { pid: 400, port: 5432 } }],
    ss: { tcp: 'LISTEN 0 244 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=400,fd=6))', unix: '' },
  };
  const r = runJob(spec);
  t.equal(r.code, GATE_REFUSED);
  t.notMatch(r.stdout, /the backup would run now/);
  t.match(r.stderr, /^ironclad gate: refusing to go on: the single-instance check found problems on db-prod:\n {2}- PostgreSQL 15\/main is not running.*\n {2}- port 5432 is answered by another data directory: pid 400 on port 5432 from @\/srv\/fresh/);
  t.match(r.stdout, /^exit trap: \[PostgreSQL 15\/main is not running.*\nport 5432 is answered by another data directory.*\]\n$/);
});

t.test('a census that cannot run refuses too, with exit 1', async (t) => {
  const r = runJob(clean, () => ['--no-such-option']);
  t.equal(r.code, GATE_FAILED);
  t.match(r.stderr, /census: unknown argument '--no-such-option'/);
  t.match(r.stderr, /ironclad gate: refusing to go on: the single-instance census could not run on db-prod \(exit 2\)/);
  t.match(r.stdout, /^exit trap: \[the single-instance census could not run on db-prod \(exit 2\)\]\n$/);
});
