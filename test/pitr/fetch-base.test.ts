// The restoring host's unpacking of a base backup, for real (fetch.sh, mode base; the WAL: fetch-wal.test.ts): the store's stream decrypted with
// the host's identity and unpacked by postgres, never root, into a new folder; a base holding a link, or a member
// that climbs out of its folder, is refused and nothing of it stays. Only the script's two connections to the
// outside are replaced here: the store (ssh) by a file, and the identity's path by a scratch one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { fetchScript } from '../../src/pitr/restore-scripts.js';
import { needsRootAndPostgres, postgresFolder, rootScratch } from '../helpers/postgres-account.js';
import type { Host } from '../../src/inventory/types.js';

const BIN = '/usr/lib/postgresql/15/bin';
const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const why = needsRootAndPostgres('unpacking as postgres') || (!existsSync(`${BIN}/initdb`) ? 'needs PostgreSQL 15' : !have('age') || !have('runuser') ? 'needs age and runuser' : '');
if (why) t.plan(0, why);
else await main();

async function main() {
  const { dir, uid, gid } = rootScratch(t, 'pitr-fetch-');
  // a real data directory (initdb) with the backup_label a base backup carries
  const data = join(dir, 'pgdata');
  mkdirSync(data);
  chownSync(data, uid, gid);
  execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/initdb`, '-D', data, '--no-sync', '-A', 'trust'], { stdio: 'ignore', cwd: '/' });
  writeFileSync(join(data, 'backup_label'), 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTART TIMELINE: 1\n');
  execFileSync('age-keygen', ['-o', join(dir, 'identity')], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', join(dir, 'identity')], { encoding: 'utf8' }).trim();
  /** tar (its arguments, then .) of the data directory, compressed (gzip as before 2026-12-03, or zstd), age: a base as the store keeps it. */
  const seal = (name: string, tarArgs: string[] = [], squeeze = 'gzip -1') =>
    execFileSync('sh', ['-c', 'out=$1 dir=$2 to=$3 z=$4; shift 4; tar -C "$dir" -cf - "$@" . | $z | age -r "$to" > "$out"', 'sh', join(dir, name), data, recipient, squeeze, ...tarArgs]);
  seal('good.age', [], 'zstd -1 -q -c');
  seal('good-gzip.age');
  symlinkSync('/etc/shadow', join(data, 'pg_hba.conf.link'));
  seal('link.age');
  rmSync(join(data, 'pg_hba.conf.link'));
  seal('climb.age', ['-P', '--transform=s|^\\./PG_VERSION$|../../escape-target|']);

  const store: Host = { name: 'store', address: '10.0.0.2', ssh: { port: 22 }, backup_store: { path: '/srv/b', user: 'ironclad-backup' } } as unknown as Host;
  const stage = join(dir, 'stage', 'pitr_t');
  /** The stage's parent as on a host: postgres' own folder (/var/lib/postgresql), where postgres may plant links. */
  const freshStage = () => {
    rmSync(join(dir, 'stage'), { recursive: true, force: true });
    postgresFolder(join(dir, 'stage'), { uid, gid });
  };
  const run = (name: string) => {
    const script = fetchScript({ store, source: 'db', cluster: 'pitr_t', what: { mode: 'base', id: '20261203T020000Z' } })
      .replace(/^STAGE='[^']*'$/m, `STAGE='${stage}'`)
      .replace(/^PROGRESS='[^']*'$/m, `PROGRESS='${join(dir, 'progress')}'`)
      .replace(/^IDENTITY=.*$/m, `IDENTITY='${join(dir, 'identity')}'`)
      .replace(/^store\(\) \{\n[\s\S]*?\n\}$/m, `store() { cat '${join(dir, name)}'; }`);
    if (!script.includes(`cat '${join(dir, name)}'`)) throw new Error('the store function was not replaced');
    freshStage();
    return spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  };

  await t.test('a base backup (zstd, or gzip as before): unpacked by postgres, its facts printed', async (t) => {
    const old = run('good-gzip.age');
    t.equal(old.status, 0, old.stderr);
    t.match(old.stdout, /^@@label_lsn 0\/2000028$/m, 'a gzip base of before still restores');
    const r = run('good.age');
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /^@@version 15$/m);
    t.match(r.stdout, /^@@sysid \d+$/m);
    t.match(r.stdout, /^@@label_lsn 0\/2000028$/m);
    t.match(r.stdout, /^@@label_tli 1$/m);
    t.equal(execFileSync('find', [stage, '!', '-user', 'postgres'], { encoding: 'utf8' }), '', 'every file and folder is postgres\', none root\'s');
  });

  await t.test('a base holding a link: refused, nothing of it stays', async (t) => {
    const r = run('link.age');
    t.equal(r.status, 1);
    t.match(r.stderr, /base backup 20261203T020000Z holds something other than plain files and folders: .*pg_hba\.conf\.link/);
    t.notOk(existsSync(stage), 'the stage is removed');
  });

  await t.test('a member that climbs out of its folder: refused, nothing written outside', async (t) => {
    const r = run('climb.age');
    t.not(r.status, 0, 'refused');
    t.match(r.stderr, /unpacking base backup 20261203T020000Z failed: .*escape-target/, 'by the unpacking (the member keeps its ../../, -P)');
    t.notOk(existsSync(join(dir, 'escape-target')), 'nothing written beside the stage');
    t.notOk(existsSync(join(dir, 'stage', 'escape-target')), 'nor in its parent');
    t.notOk(existsSync(stage), 'the stage is removed');
  });
}
