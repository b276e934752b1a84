// parseEarly: a small local manifest is parsed as soon as its scan ends; a host's or a larger one is left to the
// merge's stream (memory bounded).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ManifestError } from '../../src/images/manifest.js';
import { parseEarly, type Side } from '../../src/images/side.js';
import { localConnector } from '../../src/connectors/local.js';

const rec = (...fields: (string | number)[]) => fields.join('\t');
const side = (kind: 'local' | 'host'): Side => ({
  role: 'source',
  location: kind === 'local' ? { kind: 'local', path: '/x' } : { kind: 'host', host: 'h', path: '/x' },
  connector: localConnector(),
});

t.test('parseEarly: small local manifest parsed; over the bound or on a host: left to the stream', async (t) => {
  const dir = t.testdir();
  const manifest = join(dir, 'm');
  const bytes = `${rec('h1', 1, '1', '1', 1, 'a')}\0${rec('h2', 2, '2', '2', 2, 'b\nc')}\0`;
  writeFileSync(manifest, bytes, 'latin1');
  const files = { manifest, progress: join(dir, 'p') };
  t.same((await parseEarly(side('local'), files))?.map((e) => e.path), ['a', 'b\nc']);
  t.equal(await parseEarly(side('local'), files, bytes.length - 1), undefined, 'larger than maxBytes');
  t.same((await parseEarly(side('local'), files, bytes.length))?.length, 2, 'exactly maxBytes');
  t.equal(await parseEarly(side('host'), files), undefined, 'a host side');
  writeFileSync(manifest, bytes.slice(0, -1), 'latin1');
  await t.rejects(parseEarly(side('local'), files), ManifestError, 'truncated');
});
