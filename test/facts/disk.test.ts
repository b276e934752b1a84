import t from 'tap';
import { diskFact, parseDf } from '../../src/facts/disk.js';
import { fixture, section } from '../fixtures/facts/load.js';

t.test('recorded df: pseudo filesystems skipped', async (t) => {
  t.same(parseDf(fixture('df.txt')), [
    { filesystem: '/dev/vda', type: 'ext4', size: 270553174016, used: 24533045248, available: 84411248640, mount: '/', used_percent: 23 },
  ]);
});

t.test('hand-made: overlay root, a mount with spaces, an empty device, proc and tmpfs', async (t) => {
  t.same(parseDf(fixture('df-variants.txt')).map((d) => [d.filesystem, d.mount, d.used_percent]), [
    ['overlay', '/', 22],
    ['/dev/sdb1', '/srv/pg data', 90],
  ]);
});

t.test('header only, garbage, absent', async (t) => {
  t.same(parseDf('Filesystem Type 1-blocks Used Available Capacity Mounted on\n'), []);
  t.same(parseDf('df: /mnt/nfs: Stale file handle\n'), []);
  t.same(diskFact.parse(section('disk', fixture('df.txt'))).length, 1);
  t.same(diskFact.absent(), []);
});
