import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseInvocation } from '../../scripts/cli.js';
import { createFactsFamily, pickFacts } from '../../scripts/facts.js';
import { UserError } from '../../src/core/errors.js';
import type { Host } from '../../src/inventory/types.js';
import { recordedConnector } from '../fixtures/facts/load.js';

const inventory = `version: 1
defaults:
  ssh: { user: root, port: 22, identity_file: /nonexistent/key, known_hosts: /nonexistent/known_hosts }
hosts:
  db-prod: { address: 10.0.0.10, tags: [production] }
  staging: { address: 10.0.0.20 }
  gone: { address: 10.0.0.99 }
`;

/** Run `ironclad facts ARGS` with fake connections; stdout captured. */
async function run(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, inventory);
  const connect = async (h: Host) => {
    if (h.name === 'gone') throw new Error(`${h.name}: cannot connect to root@${h.address}:22: timed out`);
    return recordedConnector(h.name, h.name === 'db-prod' ? 'debian12-online.combined.txt' : 'debian12-down.combined.txt');
  };
  const family = createFactsFamily(connect);
  const { invocation } = parseInvocation(['facts', '-i', file, ...args], family);
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    return { code: await family.run(invocation), out };
  } finally {
    process.stdout.write = write;
  }
}

t.test('--json: every host, the failed one with its error, exit 1', async (t) => {
  const { code, out } = await run(t.testdir(), ['--json']);
  t.equal(code, 1);
  const doc = JSON.parse(out);
  t.same(doc.hosts.map((h: { host: string; ok: boolean }) => [h.host, h.ok]), [['db-prod', true], ['staging', true], ['gone', false]]);
  t.match(doc.hosts[0].facts.clusters, [{ status: 'online' }]);
  t.match(doc.hosts[1].facts.clusters, [{ status: 'down' }]);
  t.match(doc.hosts[2].error, /cannot connect/);
});

t.test('named hosts, --limit, --only; human output; exit 0', async (t) => {
  const { code, out } = await run(t.testdir(), ['db-prod', 'staging', '--limit', 'staging', '--only', 'clusters']);
  t.equal(code, 0);
  t.equal(out, 'staging:\n  clusters    15/main port 5432 down owner postgres /var/lib/postgresql/15/main\n');
});

t.test('an unknown host or fact is bad input', async (t) => {
  await t.rejects(run(t.testdir(), ['nope']), UserError);
  await t.rejects(run(t.testdir(), ['--limit', 'nope']), /unknown host 'nope'/);
  t.throws(() => pickFacts('os,bogus'), /unknown fact 'bogus'/);
  t.same(pickFacts('os, disk'), ['os', 'disk']);
});
