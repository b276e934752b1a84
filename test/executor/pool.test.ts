import t from 'tap';
import type { Connector } from '../../src/connectors/types.js';
import { ConnectionPool } from '../../src/executor/pool.js';
import { connectionLimit, limitConnections, OutsideLimit } from '../../src/executor/limit.js';
import type { Host } from '../../src/inventory/types.js';

const host = (name: string) => ({ name, address: `10.0.0.${name.length}` }) as Host;

function recordingPool(limit?: string[]) {
  const dialled: string[] = [];
  const connect = async (h: Host): Promise<Connector> => {
    dialled.push(h.name);
    if (h.name === 'down') throw new Error('down: cannot connect');
    return { host: h.name, close: async () => undefined } as unknown as Connector;
  };
  return { pool: new ConnectionPool(connect, limit), dialled };
}

t.test('one connection per host; a failed one is not cached', async (t) => {
  const { pool, dialled } = recordingPool();
  await pool.get(host('a'));
  await pool.get(host('a'));
  await t.rejects(pool.get(host('down')));
  await t.rejects(pool.get(host('down')));
  t.same(dialled, ['a', 'down', 'down']);
});

t.test('--limit: a host outside it is refused without being dialled', async (t) => {
  const { pool, dialled } = recordingPool(['a']);
  await pool.get(host('a'));
  const e = await pool.get(host('staging')).catch((x) => x);
  t.type(e, OutsideLimit);
  t.match(e.message, /^staging is outside --limit \(a\): not contacted$/);
  t.equal(e.exitCode, 2);
  t.same(dialled, ['a'], 'staging never dialled');
});

t.test('the process-wide limit the CLI sets applies to every pool made afterwards', async (t) => {
  t.teardown(() => limitConnections(undefined));
  limitConnections(['db-prod', 'backup-far']);
  t.same([...connectionLimit()!], ['db-prod', 'backup-far']);
  const { pool, dialled } = recordingPool();
  await pool.get(host('db-prod'));
  await t.rejects(pool.get(host('staging')), /staging is outside --limit \(db-prod,backup-far\)/);
  t.same(dialled, ['db-prod']);
  limitConnections([]);
  t.equal(connectionLimit(), undefined, 'an empty --limit limits nothing');
});
