// An upload into a folder postgres owns (a cluster's conf.d, pg_hba.conf) is written by postgres, for real: a link
// postgres planted (the folder, or the file) never makes root write, create or chown a file of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { describeCommand, toShell } from '../../src/core/command.js';
import { needsRootAndPostgres, postgresFolder, rootScratch } from '../helpers/postgres-account.js';

const why = needsRootAndPostgres('writes as postgres');
if (why) t.plan(0, why);
else await main();

async function main() {
  const { dir, uid, gid } = rootScratch(t, 'upload-as-');
  const cluster = postgresFolder(join(dir, 'cluster'), { uid, gid }, 0o755); // as /etc/postgresql/15/main
  const rootDir = join(dir, 'root-only'); // as /etc/modprobe.d
  mkdirSync(rootDir, { mode: 0o755 });
  const rootFile = join(dir, 'shadow');
  writeFileSync(rootFile, 'root secret\n', { mode: 0o600 });
  const upload = (path: string, content: string) => {
    const { script, stdin } = toShell({ kind: 'upload', path, content, mode: '640', as: 'postgres' });
    return spawnSync('sh', ['-c', script], { input: stdin, encoding: 'utf8' });
  };
  const asPg = (...args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', ...args]);

  await t.test('written by postgres, whole, with its mode', async (t) => {
    const r = upload(join(cluster, 'pg_hba.conf'), 'local all postgres peer\n');
    t.equal(r.status, 0, r.stderr);
    t.equal(readFileSync(join(cluster, 'pg_hba.conf'), 'utf8'), 'local all postgres peer\n');
    const st = statSync(join(cluster, 'pg_hba.conf'));
    t.equal(st.uid, uid, "postgres' file");
    t.equal(st.mode & 0o777, 0o640);
    t.same(readdirSync(cluster), ['pg_hba.conf'], 'no temp file left');
    t.match(describeCommand({ kind: 'upload', path: '/x', content: 's', mode: '640', as: 'postgres' }), /as postgres/);
  });

  await t.test('conf.d made a link to a folder of root\'s: nothing is created there', async (t) => {
    asPg('ln', '-s', rootDir, join(cluster, 'conf.d'));
    const r = upload(join(cluster, 'conf.d', 'ironclad.conf'), 'install x /bin/sh -c id\n');
    t.not(r.status, 0, 'refused by the file system: postgres cannot write there');
    t.same(readdirSync(rootDir), [], "root's folder holds nothing new");
  });

  await t.test('the file made a link to a file of root\'s: the link is replaced, the file untouched', async (t) => {
    asPg('ln', '-sf', rootFile, join(cluster, 'pg_ident.conf'));
    const r = upload(join(cluster, 'pg_ident.conf'), 'mine\n');
    t.equal(r.status, 0, r.stderr);
    t.equal(readFileSync(rootFile, 'utf8'), 'root secret\n', "root's file unchanged");
    t.equal(statSync(rootFile).uid, 0, "and still root's");
    t.equal(readFileSync(join(cluster, 'pg_ident.conf'), 'utf8'), 'mine\n', 'a plain file in its place');
    t.ok(existsSync(join(cluster, 'pg_ident.conf')));
  });
}
