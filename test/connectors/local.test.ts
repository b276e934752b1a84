// The local connector: a command that exits without reading its stdin ends with its own exit code; the write of the
// stdin it left (EPIPE) never ends this process.
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';

t.test('a command that exits before reading its stdin: its exit code, the process lives on', async (t) => {
  const crashes: unknown[] = [];
  const onUncaught = (e: unknown) => crashes.push(e);
  process.on('uncaughtException', onUncaught);
  t.teardown(() => process.off('uncaughtException', onUncaught));
  const conn = localConnector();
  // more than a pipe holds (64 KiB), so that the write is still under way when the command is gone
  for (let i = 0; i < 5; i++) t.equal((await conn.run('exit 3', { stdin: 'x'.repeat(4 << 20) })).code, 3);
  t.equal((await conn.run('head -c 4', { stdin: 'abcdefgh'.repeat(1 << 20) })).stdout, 'abcd', 'one that reads a part');
  t.equal((await conn.run('wc -c', { stdin: 'abc' })).stdout.trim(), '3', 'and one that reads it all');
  await new Promise((r) => setTimeout(r, 50));
  t.same(crashes, [], 'nothing thrown out of the process');
});
