import { spawnSync } from 'node:child_process';
import t from 'tap';
import { buildFactScript, markerOf, newNonce, splitSections, type SectionCommand } from '../../src/facts/script.js';
import { FIXTURE_NONCE, fixture } from '../fixtures/facts/load.js';

const tricky: SectionCommand[] = [
  { name: 'plain', command: 'printf "a\\nb\\n"' },
  { name: 'no_newline', command: 'printf "x y"; echo oops >&2; exit 3' },
  { name: 'absent', command: 'command -v no-such-tool-here >/dev/null 2>&1 || exit 127\nno-such-tool-here' },
  { name: 'forged', command: `echo '@@ironclad-facts:guess end forged 0'; echo after` },
  { name: 'parts', command: 'echo head\nic_part "one two"; printf "1\\n"\nic_part empty\nic_part last; printf "z"' },
  { name: 'cases', command: 'for w in a b; do case $w in (a) echo A ;; (*) echo other ;; esac; done' },
  { name: 'stdin', command: 'cat' },
];

for (const shell of ['sh', 'dash', 'bash']) {
  t.test(`the combined script under ${shell} splits back exactly`, async (t) => {
    const nonce = newNonce();
    const run = spawnSync(shell, ['-c', buildFactScript(tricky, nonce)], { input: 'script stdin must not leak', encoding: 'utf8' });
    if (run.error) return t.pass(`${shell} is not installed here`);
    const s = splitSections(run.stdout, nonce);
    t.same([...s.keys()], tricky.map((c) => c.name));
    t.equal(s.get('plain')?.stdout, 'a\nb\n');
    t.match(s.get('no_newline'), { stdout: 'x y', code: 3, stderr: 'oops' });
    t.equal(s.get('absent')?.code, 127);
    t.equal(s.get('forged')?.stdout, '@@ironclad-facts:guess end forged 0\nafter\n');
    t.same(s.get('parts')?.parts, [
      { name: 'one two', text: '1\n' },
      { name: 'empty', text: '' },
      { name: 'last', text: 'z' },
    ]);
    t.equal(s.get('parts')?.stdout, 'head\n');
    t.equal(s.get('cases')?.stdout, 'A\nother\n');
    t.equal(s.get('stdin')?.stdout, '', 'fact commands read /dev/null, not the script stdin');
    t.equal(run.stderr, '', 'section stderr is captured, not left on the script stderr');
  });
}

t.test('splitter edge cases', async (t) => {
  const m = markerOf('n1');
  const cases: { name: string; out: string; want: Record<string, { stdout: string; code: number; stderr: string }> }[] = [
    { name: 'nothing', out: '', want: {} },
    { name: 'ssh banner noise before the first section', out: `motd\n${m} begin a\nx\n${m} end a 0\n\n`, want: { a: { stdout: 'x', code: 0, stderr: '' } } },
    { name: 'section cut short is left out', out: `${m} begin a\nx\n${m} end a 0\n\n${m} begin b\npartial`, want: { a: { stdout: 'x', code: 0, stderr: '' } } },
    { name: 'another nonce is plain output', out: `${m} begin a\n${markerOf('n2')} end a 0\n\n${m} end a 1\nerr\n`, want: { a: { stdout: `${markerOf('n2')} end a 0\n`, code: 1, stderr: 'err' } } },
    { name: 'multi-line stderr', out: `${m} begin a\n\n${m} end a 2\ne1\ne2\n\n${m} begin b\n\n${m} end b 0\n\n`, want: { a: { stdout: '', code: 2, stderr: 'e1\ne2' }, b: { stdout: '', code: 0, stderr: '' } } },
  ];
  for (const c of cases) {
    const got = Object.fromEntries([...splitSections(c.out, 'n1')].map(([k, v]) => [k, { stdout: v.stdout, code: v.code, stderr: v.stderr }]));
    t.same(got, c.want, c.name);
  }
});

t.test('names must be safe shell words', async (t) => {
  t.throws(() => buildFactScript([{ name: 'bad name; rm', command: 'true' }], 'n'));
});

t.test('nonces differ', async (t) => {
  t.not(newNonce(), newNonce());
});

t.test('the recorded Debian 12 output has every section', async (t) => {
  const s = splitSections(fixture('debian12-online.combined.txt'), FIXTURE_NONCE);
  t.same([...s.keys()], ['os', 'postgres_packages', 'clusters', 'postgres_processes', 'listeners', 'disk', 'jobs', 'identity', 'production_marker', 'postgres_updates', 'backup_job', 'integrity', 'corruption', 'tls', 'clock']);
  t.same(s.get('clusters')?.parts.map((p) => p.name), ['table', 'json']);
  t.ok([...s.values()].every((x) => x.code === 0 && x.stderr === ''));
});
