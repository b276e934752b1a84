import t from 'tap';
import { UserError } from '../../src/core/errors.js';
import { describeLocation, needsInventory, pairLocations, parseLocation, parseTarget } from '../../src/images/locations.js';
import { parseHash, parseMode } from '../../src/images/options.js';
import type { Inventory } from '../../src/inventory/types.js';

t.test('parseLocation: local paths and HOST:PATH', async (t) => {
  const cases: [string, object][] = [
    ['/srv/uploads', { kind: 'local', path: '/srv/uploads' }],
    ['uploads', { kind: 'local', path: '/here/uploads' }],
    ['./a:b', { kind: 'local', path: '/here/a:b' }],
    ['/x/a:b', { kind: 'local', path: '/x/a:b' }],
    ['app-prod:/srv/app/uploads', { kind: 'host', host: 'app-prod', path: '/srv/app/uploads' }],
    ['backup.far:relative/dir', { kind: 'host', host: 'backup.far', path: 'relative/dir' }],
  ];
  for (const [text, want] of cases) t.same(parseLocation(text, '/here'), want, text);
  t.throws(() => parseLocation('app-prod:', '/here'), UserError);
  t.throws(() => parseLocation('', '/here'), UserError);
  t.equal(describeLocation({ kind: 'host', host: 'h', path: '/p' }), 'h:/p');
});

t.test('parseTarget: NAME or SRC DST', async (t) => {
  t.same(parseTarget(['uploads']), { kind: 'pair', name: 'uploads' });
  t.match(parseTarget(['/a', 'h:/b'], '/'), { kind: 'paths', source: { kind: 'local' }, replica: { kind: 'host', host: 'h' } });
  for (const words of [[], ['a', 'b', 'c']]) t.throws(() => parseTarget(words), UserError, `${words.length} words`);
  t.equal(needsInventory(parseTarget(['/a', '/b'])), false, 'two local paths need no inventory');
  t.equal(needsInventory(parseTarget(['/a', 'h:/b'])), true);
  t.equal(needsInventory(parseTarget(['uploads'])), true);
});

t.test('pairLocations: the inventory pair, or the known names', async (t) => {
  const inv = { file: 'inv.yaml', images: [{ name: 'uploads', source: { host: 'app', path: '/u' }, replica: { host: 'bk', path: '/b' } }] } as unknown as Inventory;
  t.same(pairLocations(inv, 'uploads'), { source: { kind: 'host', host: 'app', path: '/u' }, replica: { kind: 'host', host: 'bk', path: '/b' } });
  t.throws(() => pairLocations(inv, 'nope'), { name: 'UserError', hint: /uploads/ });
});

t.test('parseMode: a table of flag combinations', async (t) => {
  const seed = () => 77;
  const ok: [Record<string, string | boolean>, object][] = [
    [{}, { kind: 'cached' }],
    [{ rehash: true }, { kind: 'rehash' }],
    [{ sample: '5' }, { kind: 'sample', percent: 5, seed: 77 }],
    [{ sample: '0.5', seed: '12' }, { kind: 'sample', percent: 0.5, seed: 12 }],
    [{ sample: '100', seed: '0' }, { kind: 'sample', percent: 100, seed: 0 }],
  ];
  for (const [opts, want] of ok) t.same(parseMode(opts, seed), want, JSON.stringify(opts));
  const bad: Record<string, string | boolean>[] = [{ rehash: true, sample: '5' }, { sample: '0' }, { sample: '101' }, { sample: 'x' }, { sample: '0.001' }, { seed: '3' }, { sample: '5', seed: '-1' }, { sample: '5', seed: '1.5' }];
  for (const opts of bad) t.throws(() => parseMode(opts, seed), UserError, JSON.stringify(opts));
  t.ok(parseMode({ sample: '5' }).kind === 'sample', 'a seed is drawn when none is given');
});

t.test('parseHash', async (t) => {
  t.equal(parseHash(undefined), 'crypto');
  t.equal(parseHash('blake3'), 'blake3');
  t.equal(parseHash('crypto'), 'crypto');
  t.equal(parseHash('sha256'), 'sha256');
  t.equal(parseHash('fast'), 'fast');
  t.throws(() => parseHash('md5'), UserError);
});
