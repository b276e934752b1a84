// The store's calls that carry files, run for real (as root, in a scratch root): the last small files sent with the
// commit in one call, and the free-space floor that every upload meets first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { asRoot, genuine, hasAge, identity, scratchStore, upload } from './helpers/store.js';

t.test('the store script, for real', { skip: (!asRoot && 'needs root (chown, the commit as root)') || (!hasAge && 'age not installed') }, async (t) => {
  const { recipient } = identity();

  t.test('the last small files go up with the commit, in one call (the dump streamed before); a short one commits nothing', async (t) => {
    const s = scratchStore();
    const files = genuine(recipient);
    const { 'dump.pgdump.age': dump, ...small } = files;
    upload(s, 'u2', { 'dump.pgdump.age': dump });
    const names = Object.keys(small);
    const pairs = names.map((f) => `${f} ${small[f].length}`).join(' ');
    const stdin = Buffer.concat(names.map((f) => small[f]));
    const short = s.client('db-prod', `commit u2 app ${pairs}`, stdin.subarray(0, stdin.length - 3) as unknown as string);
    t.equal(short.status, 1, 'a file cut short: failed, nothing committed');
    t.match(short.stderr, /of \d+ bytes arrived; the next run resumes from them/);
    t.notOk(existsSync(join(s.root, 'db-prod')), 'no backup');
    for (const bad of ['commit u3 app manifest.json', 'commit u3 app manifest.json -', 'commit u3 app ../x 5', 'commit u3 app manifest.json 5x'])
      t.not(s.client('db-prod', bad, 'x').status, 0, `refused: ${bad}`);
    upload(s, 'u4', { 'dump.pgdump.age': dump });
    const r = s.client('db-prod', `commit u4 app ${pairs}`, stdin as unknown as string);
    t.equal(r.status, 0, r.stderr);
    const id = r.stdout.match(/^committed (\S+)$/m)?.[1] ?? '';
    t.same(readdirSync(join(s.root, 'db-prod', 'app', id, 'data')).sort(), Object.keys(files).sort(), 'every file committed');
    for (const f of names) t.equal(readFileSync(join(s.root, 'db-prod', 'app', id, 'data', f)).toString('hex'), small[f].toString('hex'), `${f} whole`);
  });

  t.test('the free-space floor: an upload that would leave less than min_free is refused before a byte is written', async (t) => {
    const full = scratchStore({ min_free: '999T' });
    const r = full.client('db-prod', 'put u5 manifest.json 5', 'hello');
    t.equal(r.status, 3, 'refused (exit 3)');
    t.match(r.stderr, /would keep less than 999T free with this upload \(5 bytes\): free space first/);
    t.notOk(existsSync(join(full.root, 'incoming', 'db-prod', 'u5', '.partial', 'manifest.json')), 'nothing written');
    t.equal(full.client('db-prod', 'commit u5 app manifest.json 5', 'hello').status, 3, 'nor with the commit');
    const room = scratchStore({ min_free: '1%' });
    t.equal(room.client('db-prod', 'put u6 manifest.json 5', 'hello').status, 0, 'accepted above the floor');
  });
});
