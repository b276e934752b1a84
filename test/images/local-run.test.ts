import t from 'tap';
import { fastLocalConnector, runHere } from '../../src/images/local-run.js';

t.test('runHere: stdout, stderr, exit code, stdin as text or bytes, a script that ignores its stdin', async (t) => {
  t.match(await runHere('h', 'echo out; echo err >&2; exit 3'), { host: 'h', code: 3, stdout: 'out\n', stderr: 'err\n' });
  t.match(await runHere('h', 'cat', { stdin: 'abc' }), { code: 0, stdout: 'abc' });
  t.match(await runHere('h', 'od -An -tx1', { stdin: Buffer.from([0, 255]) }), { stdout: / 00 ff/ });
  t.match(await runHere('h', 'exit 0', { stdin: Buffer.alloc(1 << 20) }), { code: 0 }, 'unread stdin is no error');
  t.match(await runHere('h', 'sleep 5', { timeoutMs: 100 }), { code: 128 }, 'a timeout kills it');
  const c = fastLocalConnector('here');
  t.equal(c.host, 'here');
  t.match(await c.run('printf %s "$0"'), { stdout: 'sh' });
});
