// The cluster_state fact (takes the cluster as argument): its parser as a table of cases, and that gatherFactsWith
// reads it in the same single round trip as the named facts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { Connector, RunResult } from '../../src/connectors/types.js';
import { clusterStateFact, parseClusterState, stateCommands } from '../../src/facts/cluster-state.js';
import { gatherFactsWith } from '../../src/facts/gather.js';
import type { PostgresSpec } from '../../src/inventory/types.js';
import { runWith, standIns } from '../fixtures/psql-standin.js';

const pg = { version: 15, cluster: 'main', port: 5433 } as PostgresSpec;
const sec = (code: number, stdout = '') => ({ code, stdout });
const sql = ['@@part settings', 'shared_buffers\t16384\t8kB\tpostmaster\tf', 'work_mem\t4096\tkB\tuser\tt', '@@part roles', 'postgres\tt\tt\tt\t', 'app\tt\tf\tf\tSCRAM-SHA-256$x', '@@part databases', 'app\tapp', ''].join('\n');

const cases: { name: string; sections: [string, { code: number; stdout: string }][]; want: Record<string, unknown> }[] = [
  { name: 'nothing there: no files, no data directory, server unknown', sections: [['conf', sec(1)], ['hba', sec(1)], ['datadir', sec(1)], ['sql', sec(3)]], want: { confFile: null, hbaFile: null, dataDirectory: { exists: false, entries: 0 }, settings: null, roles: null, databases: null } },
  { name: 'a stopped cluster: files and data directory, no SQL', sections: [['conf', sec(0, 'port = 5433\n')], ['hba', sec(0, 'local all postgres peer\n')], ['datadir', sec(0, '23\n15\n7301234567890123456\n')], ['sql', sec(3)]], want: { confFile: 'port = 5433\n', dataDirectory: { exists: true, entries: 23, pgVersion: '15', systemIdentifier: '7301234567890123456' }, settings: null } },
  { name: 'a running cluster: settings, roles, databases', sections: [['conf', sec(0, '')], ['hba', sec(0, '')], ['datadir', sec(0, '23\n15\n7\n')], ['sql', sec(0, sql)]], want: { roles: [{ name: 'postgres', superuser: true }, { name: 'app', login: true, superuser: false, password: 'SCRAM-SHA-256$x' }], databases: [{ name: 'app', owner: 'app' }] } },
  { name: 'SQL output cut short is unknown, not empty', sections: [['conf', sec(0, '')], ['hba', sec(0, '')], ['datadir', sec(0, '1\n15\n\n')], ['sql', sec(0, '@@part settings\nx\t1\t\tuser\tf\n')]], want: { settings: null, roles: null, databases: null, dataDirectory: { systemIdentifier: null } } },
];

for (const c of cases)
  t.test(c.name, async (t) => {
    t.match(parseClusterState(new Map(c.sections)), c.want);
  });

t.test('settings are typed: context and pending restart', async (t) => {
  const s = parseClusterState(new Map([['sql', sec(0, sql)]]));
  t.same(s.settings?.get('shared_buffers'), { setting: '16384', unit: '8kB', context: 'postmaster', pending_restart: false });
  t.equal(s.settings?.get('work_mem')?.pending_restart, true);
});

t.test('its commands take the cluster: paths of 15/main, psql on its port', async (t) => {
  const cmds = new Map(stateCommands(pg).map((c) => [c.name, c.command]));
  t.match(cmds.get('conf'), '/etc/postgresql/15/main/conf.d/ironclad.conf');
  t.match(cmds.get('datadir'), '/var/lib/postgresql/15/main');
  t.match(cmds.get('sql'), '-p 5433');
});

t.test("its SQL: the cluster's own psql (core/psql.ts) in database postgres, the queries on stdin, fields split by tabs", async (t) => {
  const s = standIns();
  const own = '/usr/lib/postgresql/15/bin/psql';
  const cmd = stateCommands(pg).find((c) => c.name === 'sql')!.command;
  t.ok(cmd.includes(`exec ${own} `), "the cluster's own psql, not Debian's wrapper");
  runWith(s, cmd.replace(own, join(s.bin, 'psql')));
  const [run] = s.runs();
  t.same({ ...run, stdin: '' }, { program: 'psql', database: 'postgres', pgport: '', stdin: '', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\t', '-p', '5433'] });
  t.same(run.stdin.split('\n').filter((l) => l.startsWith("SELECT '@@part")), ["SELECT '@@part settings';", "SELECT '@@part roles';", "SELECT '@@part databases';"]);
  t.match(run.stdin, /FROM pg_settings;\n/);
  const down = spawnSync('/bin/sh', ['-c', cmd.replace(own, join(s.bin, 'psql'))], { env: s.env({ STANDIN_REPLY: 'exit 2' }) });
  t.equal(down.status, 3, 'psql failing (server down): exit 3, the state unknown');
});

t.test('gathered with named facts in one run of the combined script', async (t) => {
  const scripts: string[] = [];
  const conn: Connector = {
    host: 'h',
    async run(script): Promise<RunResult> {
      scripts.push(script);
      const nonce = /@@ironclad-facts:([0-9a-f]+)/.exec(script)![1];
      const m = `@@ironclad-facts:${nonce}`;
      const section = (name: string, code: number, out: string) => `${m} begin ${name}\n${out}\n${m} end ${name} ${code}\n\n`;
      const stdout = section('production_marker', 0, '') + section('cluster_state__conf', 0, 'port = 5433\n') + section('cluster_state__datadir', 0, '3\n15\n42') + section('cluster_state__hba', 1, '') + section('cluster_state__sql', 3, '');
      return { host: 'h', command: '', code: 0, stdout, stderr: '', durationMs: 1 };
    },
  } as Connector;
  const { facts, value } = await gatherFactsWith(conn, ['production_marker'], { fact: clusterStateFact, args: pg });
  t.equal(scripts.length, 1, 'one round trip');
  t.match(scripts[0], /begin %s\\n' "\$ic_m" cluster_state__sql/);
  t.same(facts.facts.production_marker, { present: false });
  t.match(value, { confFile: 'port = 5433\n', hbaFile: null, dataDirectory: { exists: true, entries: 3, systemIdentifier: '42' }, roles: null });
});
