// read.sh, where the source lives: bytes of a file from an offset, the path from stdin and never trusted.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { shq } from '../../src/core/quote.js';
import { runHere } from '../../src/images/local-run.js';
import { escapePath } from '../../src/images/repair-plan.js';
import { fetchCommand, modesCommand, pieceCommand, sshArgs } from '../../src/images/repair-script.js';

t.test('read.sh: raw from an offset, a base64 piece, and every path that leads out refused', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'src', 'a'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'src', 'a', '-f.jpg'), '0123456789');
  writeFileSync(join(dir, 'outside', 'secret'), 'secret');
  symlinkSync(join(dir, 'outside'), join(dir, 'src', 'out'));
  symlinkSync(join(dir, 'outside', 'secret'), join(dir, 'src', 'link.jpg'));
  const raw = (path: string, offset: number) => runHere('h', `sh -c ${shq(fetchCommand(join(dir, 'src')))} fetch ${offset}`, { stdin: path });
  t.match(await raw('a/-f.jpg', 1), { code: 0, stdout: '0123456789' });
  t.match(await raw('a/-f.jpg', 5), { code: 0, stdout: '456789' });
  t.match(await runHere('h', pieceCommand(join(dir, 'src'), 2, 3), { stdin: 'a/-f.jpg' }), { code: 0, stdout: Buffer.from('234').toString('base64') });
  for (const [path, code] of [['../outside/secret', 65], ['/etc/passwd', 65], ['a/../../outside/secret', 65], ['out/secret', 65], ['link.jpg', 66], ['a', 66], ['nope.jpg', 66]] as const)
    t.match(await raw(path, 1), { code, stdout: '' }, `${path}: refused (${code})`);
});

t.test('sshArgs: no prompt, the host key checked, a bounded wait', async (t) => {
  t.equal(sshArgs({ user: 'root', address: '10.0.0.1', port: 2222 }, 5), 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 -p 2222 -- root@10.0.0.1');
});

t.test('read.sh modes: each file its stat %a, a line each, and - for a path it refuses or no file', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'src', 'a b'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  writeFileSync(join(dir, 'src', 'a b', 'x\ny'), '1');
  chmodSync(join(dir, 'src', 'a b', 'x\ny'), 0o4751);
  writeFileSync(join(dir, 'src', 'p'), '2');
  chmodSync(join(dir, 'src', 'p'), 0o600);
  writeFileSync(join(dir, 'outside', 'secret'), 's');
  symlinkSync(join(dir, 'outside'), join(dir, 'src', 'out'));
  const paths = ['a b/x\ny', 'p', '../outside/secret', 'out/secret', 'nope', '/etc/passwd'];
  const r = await runHere('h', modesCommand(join(dir, 'src')), { stdin: paths.map((p) => escapePath(p) + '\n').join('') });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '4751\n600\n-\n-\n-\n-\n');
});
