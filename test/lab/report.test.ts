// Unit tests of the lab's human output and of reading the teardown's report.
import t from 'tap';
import { parseKilled } from '../../src/lab/down.js';
import { columns, formatDown, formatStatus, formatUp } from '../../src/lab/report.js';

t.test('columns line up', async (t) => {
  t.equal(columns([['A', 'BB', 'C'], ['aaa', 'b', '']]), 'A    BB  C\naaa  b\n');
});

t.test('status shows each host: state, pid, address, ssh, problems', async (t) => {
  const text = formatStatus({
    bridge: { name: 'icl0', subnet: '10.213.7.0/24', gateway: '10.213.7.1', up: true },
    hosts: [
      { host: 'db-prod', address: '10.213.7.10', state: 'up', pid: 4855, ssh: true, netns: 'icl-db-prod', link: 'icl-db-prod', problems: [] },
      { host: 'staging', address: '10.213.7.20', state: 'degraded', pid: null, ssh: false, netns: 'icl-staging', link: 'icl-staging', problems: ['init is not running', 'sshd does not answer'] },
      { host: 'app-prod', address: '10.213.7.11', state: 'down', pid: null, ssh: false, netns: 'icl-app-prod', link: 'icl-app-prod', problems: ['no network namespace'] },
    ],
  });
  t.equal(
    text,
    [
      'bridge icl0 10.213.7.1 (10.213.7.0/24): up',
      'HOST      STATE     PID   ADDRESS      SSH  PROBLEMS',
      'db-prod   up        4855  10.213.7.10  ok',
      'staging   degraded  -     10.213.7.20  no   init is not running; sshd does not answer',
      'app-prod  down      -     10.213.7.11  no',
      '',
    ].join('\n'),
  );
});

t.test('up says what it did', async (t) => {
  const host = (name: string, action: 'none' | 'started' | 'rebuilt', pid: number) => ({ host: name, address: '10.213.7.10', action, pid, was: [] });
  const fresh = formatUp({ bridge: { name: 'icl0', action: 'created' }, hosts: [host('db-prod', 'started', 10), host('staging', 'rebuilt', 11)], knownHostsChanged: true, durationMs: 812 });
  t.match(fresh, /^bridge icl0 created\n/);
  t.match(fresh, /db-prod\s+started\s+10/);
  t.match(fresh, /2 hosts booted in 0.8s\n$/);
  const again = formatUp({ bridge: { name: 'icl0', action: 'none' }, hosts: [host('db-prod', 'none', 10)], knownHostsChanged: false, durationMs: 95 });
  t.match(again, /db-prod\s+already up/);
  t.match(again, /nothing to do in 0.1s\n$/);
});

t.test('down says what it stopped and removed', async (t) => {
  const text = formatDown({ hosts: [{ host: 'db-prod', killed: [4855] }, { host: 'staging', killed: [] }], bridge: { name: 'icl0', removed: true }, wiped: true, durationMs: 500 });
  t.match(text, 'db-prod: stopped (init pid 4855)\nstaging: was not running\nbridge icl0 removed\nhost disks removed (the lab key is kept)\n');
  t.match(formatDown({ hosts: [], bridge: { name: 'icl0', removed: false }, wiped: false, durationMs: 1 }), 'host disks kept');
});

t.test('killed pids are read from the teardown output', async (t) => {
  const killed = parseKilled('killed db-prod 4855\nnoise\nkilled staging 4900\nkilled db-prod 4999\n');
  t.same([...killed.entries()], [['db-prod', [4855, 4999]], ['staging', [4900]]]);
  t.same(parseKilled('').size, 0);
});
