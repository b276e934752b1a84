// The CLI's own flags: --version / -V, and the --help text stating --limit and the per-host timeouts (the built bin,
// as `npm test` builds it first).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { BIN } from '../e2e/helpers/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

t.test('--version and -V print the package version, exit 0', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = cli(flag);
    t.equal(r.status, 0, flag);
    t.equal(r.stdout, `${pkg.version}\n`);
  }
  t.equal(cli('apply', '--version').stdout, `${pkg.version}\n`, 'also after a command');
});

t.test('--help states what --limit means and the timeouts per host', async (t) => {
  const r = cli('--help');
  t.equal(r.status, 0);
  t.match(r.stdout, /--limit +only these hosts: no other host is contacted/);
  t.match(r.stdout, /timeouts per host: connecting ssh\.connect_timeout \(default 10 s\); each command ssh\.command_timeout/);
  t.match(r.stdout, /dropped within 40 s \(3 keepalives 10 s apart unanswered\)/);
});
