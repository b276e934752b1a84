// The in-process probe of a local tree gives what scan.sh's op=probe gives on this machine: the same cache prefix (so
// both find the same cache files) and the same hashes; a missing tree is named as the script's exit 66 names it.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { cacheDirHere, probeHere } from '../../src/images/probe-here.js';
import { parseProbe, scriptCommand } from '../../src/images/script.js';
import { probeSide } from '../../src/images/side.js';

const scriptProbe = async (root: string, cacheDir?: string, env = '') =>
  parseProbe((await localConnector().run(`${env} ${scriptCommand({ op: 'probe', root, cacheDir })}`)).stdout);

t.test('the same prefix and hashes as the script, through a symlink, with and without cachedir', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'tree'));
  symlinkSync(join(dir, 'tree'), join(dir, 'link'));
  for (const root of [join(dir, 'tree'), join(dir, 'link'), `${join(dir, 'tree')}/`]) {
    for (const cache of [join(dir, 'c'), undefined]) {
      const mine = await probeHere(root, cache);
      const theirs = await scriptProbe(root, cache);
      t.equal(mine?.prefix, theirs.prefix, `${root}, cache ${cache ?? 'default'}: prefix`);
      t.same(mine?.algos, theirs.algos, 'hashes');
    }
  }
  t.equal(cacheDirHere(undefined, { XDG_CACHE_HOME: '/x/y' }), '/x/y/ironclad/images');
  t.equal(cacheDirHere(undefined, { HOME: '/home/u' }), '/home/u/.cache/ironclad/images');
  if (process.getuid?.() === 0) {
    t.equal(cacheDirHere(undefined, {}), '/var/lib/ironclad/images/cache', "no HOME: root's own directory, as scan.sh");
    t.equal((await scriptProbe(join(dir, 'tree'), undefined, 'env -u HOME -u XDG_CACHE_HOME')).prefix.replace(/\/[0-9a-f]{16}$/, ''), '/var/lib/ironclad/images/cache');
  }
});

t.test('a missing tree: the side named, no such directory', async (t) => {
  const dir = t.testdir();
  t.equal(await probeHere(join(dir, 'absent'), undefined), undefined);
  await t.rejects(probeSide({ role: 'replica', location: { kind: 'local', path: join(dir, 'absent') }, connector: localConnector() }), { message: /^replica .*absent: no such directory$/ });
});
