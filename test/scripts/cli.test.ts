// The families' shared reporting: each failed host named once on stderr, its error's first line without the host
// name repeated; --version parsed as a global flag.
import t from 'tap';
import { failedOf, parseInvocation, reportFailedHosts } from '../../scripts/cli.js';

function stderrOf(fn: () => void): string {
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return err;
}

t.test('failed hosts named on stderr, first line of the error', async (t) => {
  const outcomes = [
    { host: 'db-prod', ok: true },
    { host: 'staging', ok: false, error: new Error('staging: cannot connect to root@10.213.7.20:22: connect EHOSTUNREACH 10.213.7.20:22\nmore') },
    { host: 'app-prod', ok: false, error: new Error('command failed (exit 2)') },
  ];
  const failed = failedOf(outcomes);
  t.same(failed.map((f) => f.host), ['staging', 'app-prod']);
  t.equal(stderrOf(() => reportFailedHosts(failed)), 'ironclad: staging FAILED: cannot connect to root@10.213.7.20:22: connect EHOSTUNREACH 10.213.7.20:22\nironclad: app-prod FAILED: command failed (exit 2)\n');
  t.equal(stderrOf(() => reportFailedHosts([])), '', 'nothing when every host did its part');
});

t.test('-V / --version is a global flag', async (t) => {
  t.equal(parseInvocation(['-V'], undefined).version, true);
  t.equal(parseInvocation(['--limit', 'a,b', 'apply'], undefined).version, false);
  t.same(parseInvocation(['--limit', 'a, b,', 'apply'], undefined).invocation.flags.limit, ['a', 'b']);
});
