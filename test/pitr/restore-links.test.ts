// The restore's host script (restore.sh) as root on folders postgres owns, for real: a link postgres planted there
// (the cluster's log, the stage's parent) never makes root read or remove a file of its own. Only paths are moved
// into a scratch folder; no cluster is made.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { restoreScript } from '../../src/pitr/restore-scripts.js';
import { needsRootAndPostgres, postgresFolder, rootScratch } from '../helpers/postgres-account.js';

const why = needsRootAndPostgres('acts as postgres');
if (why) t.plan(0, why);
else await main();

async function main() {
  const { dir, uid, gid } = rootScratch(t, 'pitr-links-');
  const pgDir = postgresFolder(join(dir, 'postgres-own'), { uid, gid });
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'root-only-secret\n', { mode: 0o600 });
  const run = (mode: 'status' | 'drop' | 'reclaim', paths: { log?: string; stage?: string; waldir?: string }) => {
    let script = restoreScript({ mode, version: 15, cluster: 'pitr_links_t', port: 54329, source: 'db', base: '20261203T020000Z', target: null });
    const set = (name: string, value: string | undefined, line: RegExp) => {
      if (value === undefined) return;
      if (!line.test(script)) throw new Error(`no ${name} line to replace`);
      script = script.replace(line, `${name}='${value}'`);
    };
    set('log', paths.log, /^log=.*$/m);
    set('STAGE', paths.stage, /^STAGE='[^']*'$/m);
    set('WALDIR', paths.waldir, /^WALDIR='[^']*'$/m);
    return spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  };

  await t.test("a down cluster's log is a link to a file of root's: status shows none of it", async (t) => {
    const log = join(pgDir, 'postgresql-15-pitr_links_t.log');
    execFileSync('runuser', ['-u', 'postgres', '--', 'ln', '-sf', secret, log]);
    const r = run('status', { log });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^@@state down$/m);
    t.notMatch(r.stdout + r.stderr, /root-only-secret/, 'the secret is not read (postgres reads the log)');
  });

  await t.test("drop: the stage's parent is a link into a folder of root's; nothing of root's is removed", async (t) => {
    const rootDir = join(dir, 'root-own');
    mkdirSync(join(rootDir, 'pitr_links_t'), { recursive: true, mode: 0o700 });
    writeFileSync(join(rootDir, 'pitr_links_t', 'keep'), 'x');
    mkdirSync(join(rootDir, 'pitr_links_t.wal'), { mode: 0o700 });
    const parent = join(pgDir, 'ironclad-pitr');
    execFileSync('runuser', ['-u', 'postgres', '--', 'ln', '-s', rootDir, parent]);
    run('drop', { stage: join(parent, 'pitr_links_t'), waldir: join(parent, 'pitr_links_t.wal'), log: join(pgDir, 'none.log') });
    t.ok(existsSync(join(rootDir, 'pitr_links_t', 'keep')), "root's stage-named folder is kept");
    t.ok(existsSync(join(rootDir, 'pitr_links_t.wal')), "and its WAL-named one");
    rmSync(parent);
  });

  await t.test("drop: the restore's own stage and WAL in postgres' folder are removed", async (t) => {
    const stage = join(pgDir, 'pitr_links_t');
    execFileSync('runuser', ['-u', 'postgres', '--', 'mkdir', '-p', join(stage, 'data'), `${stage}.wal`]);
    const r = run('drop', { stage, waldir: `${stage}.wal`, log: join(pgDir, 'none.log') });
    t.equal(r.status, 0, r.stderr);
    t.notOk(existsSync(stage), 'stage removed');
    t.notOk(existsSync(`${stage}.wal`), 'WAL removed');
    t.equal(readFileSync(secret, 'utf8'), 'root-only-secret\n');
  });

  await t.test('reclaim: what a restore of this name fetched before it stopped goes; while a process works in it, nothing does', async (t) => {
    const stage = join(pgDir, 'pitr_links_t');
    execFileSync('runuser', ['-u', 'postgres', '--', 'mkdir', '-p', join(stage, 'data'), `${stage}.wal`]);
    const { spawn } = await import('node:child_process');
    const busy = spawn('runuser', ['-u', 'postgres', '--', 'sh', '-c', `cd '${join(stage, 'data')}' && exec sleep 30`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const refused = run('reclaim', { stage, waldir: `${stage}.wal`, log: join(pgDir, 'none.log') });
    busy.kill();
    await new Promise((r) => busy.once('exit', r));
    t.equal(refused.status, 3, 'a fetch under way (a process in its folder): refused');
    t.match(refused.stderr, /a restore into cluster pitr_links_t is fetching/);
    t.ok(existsSync(join(stage, 'data')), 'and nothing of it removed');
    const r = run('reclaim', { stage, waldir: `${stage}.wal`, log: join(pgDir, 'none.log') });
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^@@reclaimed what a restore under this name had fetched before it stopped$/m);
    t.notOk(existsSync(stage) || existsSync(`${stage}.wal`), 'stage and WAL removed');
    t.equal(run('reclaim', { stage, waldir: `${stage}.wal`, log: join(pgDir, 'none.log') }).stdout, '', 'nothing there: nothing said');
  });
}
