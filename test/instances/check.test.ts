// checkInstances and `ironclad check instances` with fake connections that answer with recorded census outputs.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseInvocation } from '../../scripts/cli.js';
import { createCheckFamily } from '../../scripts/instances.js';
import type { Connector, RunResult } from '../../src/connectors/types.js';
import { OperationError, SafetyRefusal, UserError } from '../../src/core/errors.js';
import { assertSingleInstance, checkInstances } from '../../src/instances/check.js';
import { censusScript } from '../../src/instances/script.js';
import type { Host } from '../../src/inventory/types.js';

const recorded = (name: string) => readFileSync(new URL(`../fixtures/instances/recorded/${name}.out`, import.meta.url), 'utf8');

/** A connector whose one command answers with a recorded census output (or a given result). */
function fake(host: string, answer: Partial<RunResult> | string, seen: { script?: string; stdin?: string } = {}): Connector {
  return {
    host,
    async run(script, opts) {
      seen.script = script;
      seen.stdin = String(opts?.stdin ?? '');
      const r = typeof answer === 'string' ? { stdout: recorded(answer), code: /^ok/m.test(recorded(answer).split('census\t')[1] ?? '') ? 0 : 3 } : answer;
      return { host, command: script, code: 0, stdout: '', stderr: '', durationMs: 42, ...r };
    },
    put: async () => undefined,
    get: async () => Buffer.from(''),
    hold: async () => undefined,
    close: async () => undefined,
  };
}

const host: Host = {
  name: 'db',
  address: '10.0.0.10',
  tags: [],
  ssh: { user: 'root', port: 22, identity_file: '/k', known_hosts: '/kh' },
  postgres: { version: 15, cluster: 'main', port: 5432, extra_clusters: [{ cluster: 'reports', port: 5433 }] },
};

t.test('one round trip: census.sh on stdin of sh, the expectations as arguments', async (t) => {
  const seen: { script?: string; stdin?: string } = {};
  const c = await checkInstances(fake('db', 'clean', seen), host);
  t.equal(seen.script, 'sh -s -- --expect 15/main:5432 --allow 15/reports:5433');
  t.equal(seen.stdin, censusScript());
  t.match(c, { host: 'db', ok: true, problems: [], durationMs: 42 });
  t.equal(c.instances.length, 1);
});

t.test('problems: ok false, each problem kept', async (t) => {
  const c = await checkInstances(fake('db', 'fresh-on-port'), host);
  t.equal(c.ok, false);
  t.equal(c.problems.length, 2);
});

t.test('a census that failed, died or contradicts itself is an OperationError, not a verdict', async (t) => {
  const bad: [string, Partial<RunResult>, RegExp][] = [
    ['exit 1', { code: 1, stderr: 'census: cannot create a temporary directory' }, /db: the instance census failed \(exit 1\)\n.*cannot create a temporary directory/],
    ['timed out', { code: 124, stdout: 'expect\t15/main\n' }, /failed \(exit 124\)/],
    ['cut short', { code: 0, stdout: recorded('clean').split('\ncensus')[0] }, /unusable output: the census did not finish/],
    ['exit 0 with problems', { code: 0, stdout: recorded('stopped') }, /exit code disagrees with its 1 problem/],
    ['exit 3 without problems', { code: 3, stdout: recorded('clean') }, /exit code disagrees with its 0 problem/],
  ];
  for (const [name, answer, re] of bad) await t.rejects(checkInstances(fake('db', answer), host), { constructor: OperationError, message: re }, name);
});

t.test('assertSingleInstance: the census when clean, a SafetyRefusal (exit 3) naming the problems otherwise', async (t) => {
  t.equal((await assertSingleInstance(fake('db', 'clean'), host)).ok, true);
  await t.rejects(assertSingleInstance(fake('db', 'copy'), host), {
    constructor: SafetyRefusal,
    message: /^db: refusing: the single-instance check found a problem:\n {2}- a second PostgreSQL is running: pid \d+ on port 5434/,
  });
  await t.rejects(assertSingleInstance(fake('db', 'fresh-on-port'), host), { message: /found 2 problems:/ });
});

const inventory = `version: 1
defaults:
  ssh: { user: root, port: 22, identity_file: /nonexistent/key, known_hosts: /nonexistent/known_hosts }
hosts:
  db-a: { address: 10.0.0.10, postgres: { cluster: main, port: 5432 } }
  db-b: { address: 10.0.0.11, postgres: { cluster: main, port: 5432 } }
  gone: { address: 10.0.0.99, postgres: { cluster: main, port: 5432 } }
  app: { address: 10.0.0.20 }
`;

/** Run `ironclad check ARGS` with fake connections (db-a clean, db-b a rogue on 5432, gone unreachable). */
async function run(dir: string, args: string[], answers: Record<string, string> = { 'db-a': 'clean', 'db-b': 'fresh-on-port' }) {
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, inventory);
  const connected: string[] = [];
  const family = createCheckFamily(async (h: Host) => {
    connected.push(h.name);
    if (!answers[h.name]) throw new OperationError(`${h.name}: cannot connect to root@${h.address}:22: timed out`);
    return fake(h.name, answers[h.name]!);
  });
  const { invocation } = parseInvocation(['check', '-i', file, ...args], family);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    return { code: await family.run(invocation), out, connected };
  } finally {
    process.stdout.write = write;
  }
}

t.test('--json follows the CLI contract; an unreachable host makes it exit 1', async (t) => {
  const { code, out, connected } = await run(t.testdir(), ['instances', '--json']);
  t.equal(code, 1);
  t.same(connected.sort(), ['db-a', 'db-b', 'gone'], 'hosts without postgres are not censused');
  const doc = JSON.parse(out);
  t.same(doc.hosts.map((h: any) => [h.host, h.ok, h.problems.length]), [['db-a', true, 0], ['db-b', false, 2], ['gone', false, 0]]);
  t.match(doc.hosts[0].instances, [{ port: 5432, data_directory: '/var/lib/postgresql/15/main', pid: Number, system_identifier: '7711959398259769758' }]);
  t.match(doc.hosts[1].instances, [{ port: 5432, data_directory: '/var/lib/postgresql/fresh', system_identifier: '7711962376902302271' }]);
  t.match(doc.hosts[2].error, /gone: cannot connect/);
});

t.test('exit 3 on problems, 0 when clean; the human report is loud about problems', async (t) => {
  const bad = await run(t.testdir(), ['instances', '--limit', 'db-a,db-b']);
  t.equal(bad.code, 3);
  t.match(bad.out, /^db-a: ok\n {4}port 5432 {2}pid \d+ {2}\/var\/lib\/postgresql\/15\/main {2}system identifier 7711959398259769758 {2}15\/main \(expected\)/);
  t.match(bad.out, /db-b: 2 PROBLEMS\n {4}port 5432 {2}pid \d+ {2}\/var\/lib\/postgresql\/fresh .*NOT IN THE INVENTORY/);
  t.match(bad.out, /\n {2}! port 5432 is answered by another data directory/);
  t.match(bad.out, /check instances: 2 hosts: 1 clean, 1 with problems\n$/);
  const good = await run(t.testdir(), ['instances', '--limit', 'db-a']);
  t.equal(good.code, 0);
  t.match(good.out, /check instances: 1 host: 1 clean\n$/);
});

t.test('usage: only `check instances`; a selection without Postgres hosts is bad input', async (t) => {
  await t.rejects(run(t.testdir(), []), { constructor: UserError, message: /usage: ironclad check instances/ });
  await t.rejects(run(t.testdir(), ['backups']), { constructor: UserError, message: /got 'backups'/ });
  await t.rejects(run(t.testdir(), ['instances', '--limit', 'app']), { constructor: UserError, message: /no host with 'postgres:'/ });
  await t.rejects(run(t.testdir(), ['instances', '--limit', 'nope']), { constructor: UserError, message: /unknown host 'nope'/ });
});
