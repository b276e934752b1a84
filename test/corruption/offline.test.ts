// pg_checksums --enable run in the background and followed by polling, for real on a throwaway stopped cluster made
// without checksums; a second run while one holds the lock is refused (75). Progress lines parsed and shown.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { localConnector } from '../../src/connectors/local.js';
import { parseProgress, progressText, runChecksumsEnable } from '../../src/corruption/offline.js';

t.test('progress lines', async (t) => {
  t.same(parseProgress('10/400 MB (2%) computed\n200/400 MB (50%) computed\n'), { done: 200, total: 400 });
  t.equal(parseProgress('Checksum operation completed'), null);
  t.equal(progressText({ done: 200, total: 400 }, 10), '200.0 MiB of 400.0 MiB, 20.0 MiB/s, about 10 s left');
});

const BIN = '/usr/lib/postgresql/15/bin';
if (process.getuid?.() !== 0 || !existsSync(`${BIN}/pg_checksums`)) t.plan(0, 'needs root and PostgreSQL 15');
else {
  const work = mkdtempSync(join(tmpdir(), 'ic-offline-'));
  execFileSync('chown', ['postgres', work]);
  const data = join(work, 'data');
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', `${BIN}/initdb -A trust -D ${data} >/dev/null`], { cwd: '/' });
  const controlSum = () => /Data page checksum version:\s+(\d+)/.exec(execFileSync(`${BIN}/pg_controldata`, [data], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }))?.[1];

  t.test('enabled in the background, followed to its end', async (t) => {
    t.equal(controlSum(), '0');
    const lines: string[] = [];
    const r = await runChecksumsEnable({ conn: localConnector(), bin: BIN, dataDirectory: data, log: (l) => lines.push(l), pollMs: 200, work: join(work, 'job') });
    t.equal(r.code, 0, r.output);
    t.match(r.output, /Checksums enabled in cluster/);
    t.equal(controlSum(), '1');
  });

  t.test('one at a time: a run while another holds the lock is refused', async (t) => {
    const holder = spawn('flock', [join(work, 'job', 'lock'), 'sleep', '30'], { stdio: 'ignore' });
    t.teardown(() => holder.kill());
    await new Promise((r) => setTimeout(r, 300));
    const r = await runChecksumsEnable({ conn: localConnector(), bin: BIN, dataDirectory: data, log: () => {}, pollMs: 200, work: join(work, 'job') });
    t.equal(r.code, 75);
  });
}
