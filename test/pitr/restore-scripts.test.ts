// The restore's host scripts rendered with checked values only (and shellcheck-clean), and the parsers of their output.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { Host } from '../../src/inventory/types.js';
import { representsText } from '../../src/pitr/restore-actions.js';
import { checkFetchedBase, clusterName, fetchScript, pgTargetTime, pgTimeToIso, render, restoreScript, stagesText, tags } from '../../src/pitr/restore-scripts.js';
import { freePort, portTaken } from '../../src/pitr/restore.js';
import { trimFetched } from '../../src/pitr/restore-fetch.js';

const store = { name: 's', address: '10.0.0.2', ssh: { port: 22 }, backup_store: { user: 'ironclad-backup', path: '/srv' } } as unknown as Host;
const base = { id: '20261202T020000Z', start_lsn: '0/5000028', timeline: 1, system_identifier: '7300000000000000001' };

t.test('rendered scripts: every value checked and quoted, shellcheck clean', async (t) => {
  const scripts = [
    fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'list' } }),
    fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'base', id: base.id } }),
    fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: ['000000010000000000000005', '000000010000000000000006'], segSize: 16777216 } }),
    restoreScript({ mode: 'make', version: 15, cluster: 'pitr_x', port: 5433, source: 'db', base: base.id, target: '2026-12-02T21:15:00Z' }),
    restoreScript({ mode: 'make', version: 15, cluster: 'pitr_x', port: 5433, source: 'db', base: base.id, target: null, point: 'ironclad-drill-20261202T222517Z' }),
    render({ VERSION: 15, CLUSTER: 'pitr_x', LIVE: 'main', LIVE_PORT: 5432, KEPT: 'main__damaged_20261203t0721z' }, 'restore-swap.sh'),
  ];
  for (const s of scripts) {
    let out = '';
    try {
      execFileSync('shellcheck', ['-s', 'sh', '-'], { input: s });
    } catch (e) {
      out = String((e as { stdout: Buffer }).stdout);
    }
    t.equal(out, '', 'shellcheck clean');
  }
  t.throws(() => fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'base', id: '../../etc' } }), /base backup id/);
  t.throws(() => fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: ['00000001000000000000000$(x)'], segSize: 16777216 } }), /segment/);
  t.throws(() => fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: ['000000010000000000000005', '000000010000000000000007'], segSize: 16777216 } }), /not consecutive/, 'a range asks for consecutive segments only');
  t.throws(() => fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: ['0000000100000000000000FF', '000000020000000000000100'], segSize: 16777216 } }), /not consecutive/, 'one timeline');
  t.throws(() => fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: [], segSize: 16777216 } }), /0 segments/);
  t.match(fetchScript({ store, source: 'db', cluster: 'pitr_x', what: { mode: 'wal', segments: ['0000000100000000000000FF', '000000010000000100000000'], segSize: 16777216 } }), /SEGMENTS='0000000100000000000000FF 000000010000000100000000'/, 'across a log id');
  t.throws(() => fetchScript({ store, source: 'db;reboot', cluster: 'pitr_x', what: { mode: 'list' } }), /host name/);
  t.throws(() => restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 80, source: 'db', base: base.id, target: null }), /port 80/);
  t.throws(() => restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 5433, source: 'db', base: base.id, target: "2026'; x" }), /not a time/);
  t.throws(() => restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 5433, source: 'db', base: base.id, target: null, point: "p'" }), /restore point/);
  t.throws(() => restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 5433, source: 'db', base: null, target: null }), /needs the base backup's id/, 'only create, drop and uncreate run before the base is chosen');
  t.notMatch(restoreScript({ mode: 'create', version: 15, cluster: 'x', port: 5433, source: 'db', base: null, target: null }), /BASE='[^']/, 'create: no base named yet');
  t.throws(() => clusterName('../main'), /not a plain/);
  t.throws(() => clusterName('Main'), /not a plain/);
});

t.test("parsers: tags, PostgreSQL's logged times, free ports", async (t) => {
  t.same(tags('@@state recovering\nnoise\n@@replay 0/5000028\n@@made\n'), { state: 'recovering', replay: '0/5000028', made: '' });
  t.equal(pgTimeToIso('2026-12-02 21:15:00.123456 UTC'), '2026-12-02T21:15:00.123Z');
  t.equal(pgTimeToIso('2026-12-02 22:15:00+01'), '2026-12-02T21:15:00Z');
  t.equal(pgTimeToIso('yesterday'), null);
  t.equal(pgTargetTime('2026-12-02T23:17:03.027204Z'), '2026-12-02 23:17:03.027204+00:00', 'no zone abbreviation for recovery_target_time');
  t.equal(pgTargetTime('2026-12-02T23:17:03+01:00'), '2026-12-02 23:17:03+01:00');
  t.match(restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 5433, source: 'db', base: '20261202T020000Z', target: '2026-12-02T23:17:03Z' }), /TARGET='2026-12-02 23:17:03\+00:00'/);
  t.equal(freePort('cluster 5432 15/main online\nlisten 22\nlisten 5433\ncluster 5434 15/old down\n'), 5435);
  t.match(portTaken('cluster 5434 15/old down\n', 5434), /port 5434 belongs to cluster 15\/old \(down\)/, 'a cluster that is down still owns its port');
  t.match(portTaken('listen 5440\n', 5440), /something listens on port 5440/);
  t.equal(portTaken('cluster 5432 15/main online\nlisten 5432\n', 5440), null);
});

t.test("a host script's stages (@@took) as the restore's lines say them; anything else says nothing", async (t) => {
  t.equal(stagesText('created 3 placed 120 running 1460'), ' (created 0.0 s, placed 0.1 s, running 1.5 s)');
  t.equal(stagesText(tags('@@made\n@@took placed 40\n').took), ' (placed 0.0 s)');
  t.equal(stagesText(undefined), '', 'a script that printed none');
  t.equal(stagesText('placed'), '', 'a stage without its time');
  t.equal(stagesText('placed 12 started'), '');
  t.equal(stagesText('placed -1'), '', 'not a count of ms');
  t.equal(stagesText('$(reboot) 12'), '', 'a stage name is a plain word');
});

t.test('the replay runs with fsync off; finish syncs everything with the server stopped, then fsync on, before anything is said', async (t) => {
  const make = restoreScript({ mode: 'make', version: 15, cluster: 'x', port: 5433, source: 'db', base: '20261202T020000Z', target: null });
  t.match(make, /printf "fsync = off\\n"/, 'the recovery settings turn fsync off');
  const finish = restoreScript({ mode: 'finish', version: 15, cluster: 'x', port: 5433, source: 'db', base: '20261202T020000Z', target: null }).split('\n  finish)')[1].split('\n  drop |')[0];
  const at = (re: RegExp) => finish.search(re);
  const order = [/put "\$marker"/, /pg_ctl" stop -D "\$data" -m fast -w/, /durable \|\| fail/, /pg_ctl" start -w/, /SHOW fsync'\)" = on \] \|\| fail/, /@@sysid/, /> "\$PIN.tmp"/];
  const positions = order.map(at);
  t.notOk(positions.includes(-1), `every step is there: ${positions.join(', ')}`);
  t.same([...positions].sort((a, b) => a - b), positions, 'settings without fsync off, stop, sync, start, fsync checked on, then the checks and the pin');
  t.notMatch(finish.split('@@sysid')[0], /fsync = off/, 'the settings it starts with do not turn fsync off');
  const durable = make.split('\ndurable() {')[1].split('\n}')[0];
  t.match(durable, /\[0-4\]\.\* \| 5\.\[0-7\]\.\* \| 5\.\[0-7\]-\*\) pg "\$bin\/initdb" --sync-only -D "\$data"/, 'before Linux 5.8 (syncfs does not report a failed write): an fsync per file');
  t.match(durable, /\*\) pg sync -f "\$data"/, 'else one syncfs');
});

t.test('the fetched base must be what the store described', async (t) => {
  const ok = '@@version 15\n@@segsize 16777216\n@@sysid 7300000000000000001\n@@label_lsn 0/5000028\n@@label_tli 1\n';
  t.same(checkFetchedBase(ok, base), { version: 15, segSize: 16777216 });
  t.throws(() => checkFetchedBase(ok.replace('7300000000000000001', '7300000000000000002'), base), /system identifier 7300000000000000002 is not/);
  t.throws(() => checkFetchedBase(ok.replace('0/5000028', '0/6000028'), base), /backup_label starts at 0\/6000028/);
  t.throws(() => checkFetchedBase(ok.replace('@@label_tli 1', '@@label_tli 2'), base), /timeline 2/);
  t.throws(() => checkFetchedBase(ok.replace('16777216', '1000'), base), /segment size/);
  t.throws(() => checkFetchedBase(ok.replace('@@version 15', '@@version 15;x'), base), /PG_VERSION/);
});

t.test("the runbook's sentence about what the data represents", async (t) => {
  t.match(representsText({ source: 'db', target: '2026-12-02T21:15:00Z', stopped: 'target', last_commit: '2026-12-02T21:14:59Z', archive_latest: '2026-12-02T21:30:00Z' }), /what db had committed at 2026-12-02T21:15:00Z \(inclusive\).*commits up to 2026-12-02T21:30:00Z that it does not: they are lost by a swap/);
  t.match(representsText({ source: 'db', target: 'latest', stopped: 'end', last_commit: '2026-12-02T21:30:00Z', archive_latest: '2026-12-02T21:30:00Z' }), /everything db's archive held.*nothing later/);
});

t.test('a WAL range less the segments fetched before at its ends (the one that decided the target)', async (t) => {
  const s = ['A', 'B', 'C', 'D'];
  t.same(trimFetched(s, new Set(['D'])), ['A', 'B', 'C'], 'the last, fetched first to read its commit time');
  t.same(trimFetched(s, new Set(['A', 'D'])), ['B', 'C']);
  t.same(trimFetched(s, new Set(['B'])), s, 'one in the middle stays in the range (the host reads it off the stream and keeps its copy)');
  t.same(trimFetched(s, new Set(s)), [], 'nothing left to ask');
  t.same(trimFetched([], new Set()), []);
});
