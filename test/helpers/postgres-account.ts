// For tests that run host scripts for real as root beside the postgres account (a link postgres plants must never
// turn root's action): why they cannot run here, a scratch folder root owns, and folders postgres owns in it.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why such a test cannot run on this machine ('' when it can): it needs root and a postgres account. */
export function needsRootAndPostgres(doing: string): string {
  if (process.getuid?.() !== 0) return `needs root (${doing})`;
  return spawnSync('id', ['postgres']).status !== 0 ? 'needs a postgres account' : '';
}

/** A scratch folder of root's (0711: postgres may pass through), removed when the test ends; postgres' uid and gid. */
export function rootScratch(t: { teardown(fn: () => void): void }, prefix: string): { dir: string; uid: number; gid: number } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o711);
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { dir, uid, gid };
}

/** A folder postgres owns (as /var/lib/postgresql or a cluster's configuration folder). */
export function postgresFolder(path: string, ids: { uid: number; gid: number }, mode = 0o700): string {
  mkdirSync(path, { mode });
  chownSync(path, ids.uid, ids.gid);
  return path;
}
