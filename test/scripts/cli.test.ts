// The families' shared reporting: each failed host named once on stderr, its error's first line without the host
// name repeated; --version parsed as a global flag.
import t from 'tap';
import { failedOf, jsonMasked, parseInvocation, reportFailedHosts } from '../../scripts/cli.js';
import { registerSecret } from '../../src/core/secrets.js';

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

t.test('--json documents are masked: a secret in a step output never reaches stdout, quotes and backslashes included', async (t) => {
  const secret = 'pw"with\\back\\slash';
  registerSecret(secret);
  registerSecret('s3cr3t-token');
  const doc = { run: 'r1', steps: [{ name: 'restore', output: { log: `connected with ${secret} ok`, nested: ['x s3cr3t-token y'] } }, { name: 'n', error: 'bad s3cr3t-token', n: 3, ok: true, none: null }] };
  const text = jsonMasked(doc);
  t.notOk(text.includes('s3cr3t-token'), 'the plain secret is gone');
  t.notOk(text.includes(JSON.stringify(secret).slice(1, -1)), 'the secret as JSON would escape it is gone');
  t.notOk(text.includes('back'), 'no part of the quoted secret is left');
  t.same(JSON.parse(text), { run: 'r1', steps: [{ name: 'restore', output: { log: 'connected with ******** ok', nested: ['x ******** y'] } }, { name: 'n', error: 'bad ********', n: 3, ok: true, none: null }] }, 'numbers, booleans and null kept; only the secrets change');
  t.notOk(JSON.stringify(doc).includes('********'), 'the document itself is not changed');
});
