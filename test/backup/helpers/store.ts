// The store's script for tests: rendered for a scratch root (the upload account played by `nobody`), and the files of
// a genuine upload as the job makes them. Shared by test/backup/store*.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderStore } from '../../../src/backup/render.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { tempDir } from '../../fixtures/tmp.js';

export const inv = loadInventory('inventory/lab.yaml');
export const db = inv.hosts.find((h) => h.name === 'db-prod')!;
const base = inv.hosts.find((h) => h.name === 'backup-far')!;
export const asRoot = process.getuid?.() === 0;
export const hasAge = spawnSync('age', ['--version']).status === 0;
export const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A scratch store: its script rendered for a root in a temp dir, uploads by `nobody`. */
export function scratchStore(extra: Record<string, string> = {}) {
  const root = tempDir('ironclad-store-');
  const store = { ...base, backup_store: { ...base.backup_store!, path: root, user: 'nobody', ...extra } };
  const script = join(root, '.store.sh');
  writeFileSync(script, renderStore(store, [db]), { mode: 0o755 });
  for (const d of ['incoming', '.locks', '.staging']) mkdirSync(join(root, d));
  mkdirSync(join(root, 'incoming', 'db-prod'));
  chownSync(join(root, 'incoming', 'db-prod'), 65534, 65534);
  writeFileSync(join(root, '.locks', 'db-prod'), '');
  const run = (args: string[], env: Record<string, string> = {}, input = '') => spawnSync(script, args, { env: { PATH: process.env.PATH!, ...env }, input, encoding: 'utf8' });
  const client = (host: string, command: string, input = '') => run(['client', host], { SSH_ORIGINAL_COMMAND: command }, input);
  const reader = (hosts: string, command: string) => run(['reader', hosts], { SSH_ORIGINAL_COMMAND: command });
  return { root, run, client, reader };
}

export const identity = () => {
  const dir = tempDir('ironclad-age-');
  execFileSync('age-keygen', ['-o', join(dir, 'key')], { stdio: 'ignore' });
  return { key: join(dir, 'key'), recipient: execFileSync('age-keygen', ['-y', join(dir, 'key')], { encoding: 'utf8' }).trim() };
};
export const encrypt = (recipient: string, text: string) => execFileSync('age', ['-r', recipient], { input: text });

/** The files of a genuine upload, as the job makes them. */
export function genuine(recipient: string, over: { host?: string; database?: string; dump?: Buffer } = {}) {
  const dump = over.dump ?? encrypt(recipient, 'PGDMP pretend dump of CREATE TABLE users');
  const counts = encrypt(recipient, '{"tables":1,"rows":10,"row_counts":{"public.users":10}}');
  const manifest = `{"format":2,"host":"${over.host ?? 'db-prod'}","database":"${over.database ?? 'app'}","cluster":"15/main","system_identifier":"7312345678901234567","server_version":"15.14 (Debian 15.14-0+deb12u1)","dump_format":"custom","encrypted":true,"started_at":"2099-01-01T02:15:00Z","finished_at":"2099-01-01T02:16:00Z","tables":1,"rows":10,"bytes":${dump.length},"newest_event":"2099-01-01 02:00:00+00","files":{"dump.pgdump.age":"${sha(dump)}","counts.json.age":"${sha(counts)}"}}\n`;
  const sums = `${sha(dump)}  dump.pgdump.age\n${sha(counts)}  counts.json.age\n${sha(manifest)}  manifest.json\n`;
  return { 'dump.pgdump.age': dump, 'counts.json.age': counts, 'manifest.json': Buffer.from(manifest), SHA256SUMS: Buffer.from(sums) } as Record<string, Buffer>;
}

export function upload(s: ReturnType<typeof scratchStore>, name: string, files: Record<string, Buffer>, host = 'db-prod') {
  for (const [f, content] of Object.entries(files)) {
    const r = s.client(host, `put ${name} ${f} ${content.length}`, content as unknown as string);
    if (r.status !== 0) throw new Error(`put ${f}: ${r.stderr}`);
  }
}
