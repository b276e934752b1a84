import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { fetchFiles, fetchUnderWay, inOwnGroup, liftMarkScript, stopCopyScript, trackFetch } from '../../src/refresh/fetch-group.js';
import { tempDir } from '../fixtures/tmp.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const conn = localConnector();
/** A fetch that never ends: it writes into its folder every 50 ms, and a child of it writes once more much later. */
const endless = (dir: string) => `set -eu\nmkdir -p '${dir}'\n(sleep 1; echo late > '${dir}/late') &\ni=0\nwhile :; do echo $i >> '${dir}/part'; i=$((i + 1)); sleep 0.05; done`;
const alive = (pid: number) => spawnSync('kill', ['-0', String(pid)]).status === 0;
async function until(what: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (what()) return true;
  return what();
}

t.test('a discard during the copy stops its whole process group, then removes the copy: nothing is written after it', async (t) => {
  const dir = join(tempDir('ironclad-fetch-'), 'refresh', 'B1');
  const copying = trackFetch(dir, conn.run(inOwnGroup(endless(dir), dir, 'me pid 1')));
  t.ok(fetchUnderWay(dir), 'this process knows its fetch is under way');
  t.ok(await until(() => existsSync(`${dir}/part`)), 'the copy is writing');
  const group = Number(readFileSync(fetchFiles(dir).group, 'utf8'));
  const stopped = await conn.run(stopCopyScript(dir, 'me pid 1'));
  t.equal(stopped.code, 0, stopped.stderr);
  t.equal((await copying).code, 143, 'the copy ended by the discard (TERM)');
  t.notOk(existsSync(dir), 'the copy is gone');
  t.notOk(existsSync(fetchFiles(dir).group), 'and its group file');
  t.equal(spawnSync('sh', ['-c', `kill -0 -${group}`]).status, 1, 'no process of the group is left');
  t.equal(fetchUnderWay(dir), undefined, 'and that it ended');
  await sleep(1300);
  t.notOk(existsSync(dir), 'nothing was written after the discard (not even by a child of the fetch)');
  t.equal((await conn.run(liftMarkScript(dir))).code, 0);
  t.same(readdirSync(dirname(dir)), [], 'the mark lifted: nothing left beside the copy either');
});

t.test("a copy this process starts after its own discard does not start; an earlier process's mark does not stop it", async (t) => {
  const dir = join(tempDir('ironclad-fetch-'), 'refresh', 'B2');
  t.equal((await conn.run(stopCopyScript(dir, 'me pid 1'))).code, 0, 'a discard with no copy running');
  const late = await conn.run(inOwnGroup(`mkdir -p '${dir}' && echo data > '${dir}/part'`, dir, 'me pid 1'));
  t.equal(late.code, 75);
  t.match(late.stderr, /discarded this copy before it started/);
  t.notOk(existsSync(dir), 'nothing written');
  const resumed = await conn.run(inOwnGroup(`mkdir -p '${dir}' && echo data > '${dir}/part'`, dir, 'me pid 2'));
  t.equal(resumed.code, 0, 'a resumed run (another process) copies again');
  t.ok(existsSync(`${dir}/part`));
  t.notOk(existsSync(fetchFiles(dir).discarded), "the earlier process's mark is removed");
});

t.test('a stale group file naming a process that is not the fetch: that process is left alone', async (t) => {
  const dir = join(tempDir('ironclad-fetch-'), 'refresh', 'B3');
  const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  t.teardown(() => void other.kill());
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(fetchFiles(dir).group, `${other.pid}\n`);
  t.equal((await conn.run(stopCopyScript(dir, 'me pid 1'))).code, 0);
  t.ok(alive(other.pid!), 'not killed');
  t.notOk(existsSync(dir));
});

t.test('both scripts are shellcheck-clean POSIX sh', async (t) => {
  for (const [name, text] of [['copy', inOwnGroup('true', '/var/lib/ironclad/refresh/B1', "it's me")], ['discard', stopCopyScript('/var/lib/ironclad/refresh/B1', "it's me")]]) {
    const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: text, encoding: 'utf8' });
    if (r.error) return t.plan(0, 'shellcheck not installed');
    t.equal(r.status, 0, `${name}: ${r.stdout}`);
  }
});
