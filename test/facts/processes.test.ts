import t from 'tap';
import { parseProcessRecords, postgresProcessesFact, settingValue } from '../../src/facts/processes.js';
import type { PostmasterProcess } from '../../src/facts/types.js';
import { fixture, section } from '../fixtures/facts/load.js';

const postmasters = (text: string): PostmasterProcess[] => parseProcessRecords(text).filter((p): p is PostmasterProcess => p.role === 'postmaster');

t.test('recorded: one running 15/main with its auxiliary processes', async (t) => {
  const ps = parseProcessRecords(fixture('proc-records-online.txt'));
  t.equal(ps.length, 6);
  t.same(ps.map((p) => [p.pid, p.role]), [[7, 'postmaster'], [8, 'child'], [9, 'child'], [11, 'child'], [12, 'child'], [13, 'child']], 'sorted by pid');
  t.match(ps[0], {
    pid: 7,
    ppid: 1,
    user: 'postgres',
    data_directory: '/var/lib/postgresql/15/main',
    port: 5432,
    config_file: '/etc/postgresql/15/main/postgresql.conf',
    args: ['/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/15/main', '-c', 'config_file=/etc/postgresql/15/main/postgresql.conf'],
    pidfile: { port: 5432, socket_directory: '/var/run/postgresql', listen_addresses: 'localhost', start_time: 1795580793 },
  });
  t.match(ps[1], { role: 'child', ppid: 7, title: '15/main: checkpointer', args: ['postgres: 15/main: checkpointer'] });
});

t.test('hand-made: postmasters with spaces in a data directory, options in every spelling, in a container, an exiting one', async (t) => {
  const ps = parseProcessRecords(fixture('proc-records-variants.txt'));
  t.equal(ps.length, 6, 'the process without argv (exiting) is dropped');
  t.notOk(ps.some((p) => p.pid === 8300));
  const pm = postmasters(fixture('proc-records-variants.txt'));
  t.same(pm.map((p) => [p.pid, p.port, p.data_directory, p.config_file, p.user]), [
    [7446, 5432, '/var/lib/postgresql/15/main', '/etc/postgresql/15/main/postgresql.conf', 'postgres'],
    [8100, 5433, '/srv/pg data/16/reports', null, 'dba'],
    [8200, 5440, null, '/etc/pg/x.conf', 'postgres'],
    [23048, 5436, '/var/lib/postgresql/15/main', '/etc/postgresql/15/main/postgresql.conf', 'postgres'],
  ]);
  t.match(pm[3].pidfile, { port: 5436, listen_addresses: '*' }, 'a postmaster.pid numbered by another pid namespace still belongs to it');
  t.match(ps.find((p) => p.pid === 8101), { role: 'child', title: '16/reports: app app 10.0.0.5(51234) idle' });
});

t.test('settings on a command line', async (t) => {
  const cases: [string[], string, string | null][] = [
    [['postgres', '-c', 'port=5433'], 'port', '5433'],
    [['postgres', '-cport=5433'], 'port', '5433'],
    [['postgres', '--port=5433'], 'port', '5433'],
    [['postgres', '--config-file=/x.conf'], 'config_file', '/x.conf'],
    [['postgres', '-c', 'config_file=/a b.conf'], 'config_file', '/a b.conf'],
    [['postgres', '-c', 'shared_buffers=1GB'], 'port', null],
    [['postgres'], 'port', null],
  ];
  for (const [args, name, want] of cases) t.equal(settingValue(args, name), want, args.join(' '));
});

t.test('no postgres running, and the fact over a section', async (t) => {
  t.same(parseProcessRecords(''), []);
  t.same(postgresProcessesFact.parse(section('postgres_processes', fixture('proc-records-online.txt'))).length, 6);
  t.same(postgresProcessesFact.absent(), []);
});
