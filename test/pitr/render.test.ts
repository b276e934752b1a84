// What continuous archiving renders from the inventory: defaults, the per-host block, the store's host lines, the
// schedules, the sudo rule, the heartbeat; every rendered sh passes shellcheck.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadInventory } from '../../src/inventory/load.js';
import type { Host } from '../../src/inventory/types.js';
import { archivingClients, pitrOf, renderHeartbeatCron, renderPitrCron, renderPitrStore, renderPitrSudoers, renderPitrUnit } from '../../src/pitr/render.js';
import { tempDir } from '../fixtures/tmp.js';

const inv = loadInventory('inventory/lab.yaml');
const db = inv.hosts.find((h) => h.name === 'db-prod')!;
const store = inv.hosts.find((h) => h.name === 'backup-far')!;
const pt = loadInventory('test/e2e/pitr-lab.yaml');

t.test('on by default for a host with backup:, off when the inventory says so, tuned per host', async (t) => {
  t.same(archivingClients(store, inv.hosts).map((h) => h.name), ['db-prod'], 'the reference lab archives unchanged');
  t.equal(archivingClients(store, inv.hosts.map((h) => (h.name === 'db-prod' ? ({ ...h, pitr: { enabled: false } } as Host) : h))).length, 0);
  const ptDb = pt.hosts.find((h) => h.name === 'pt-db')!;
  t.same(pitrOf(ptDb), { maxSlotWalKeepSize: '64MB', baseSchedule: '*-*-* 02:15:00', retention: { bases: 2, days: 7 }, stallSeconds: 30 });
  t.equal(pitrOf({ ...db, postgres: { ...db.postgres!, settings: { max_slot_wal_keep_size: '2GB' } } })!.maxSlotWalKeepSize, '2GB', 'postgres.settings wins (conf.d/ironclad.conf is read after ironclad-pitr.conf)');
});

t.test('the store\'s script: one host line each (name, address, port, cluster, stall, its own receiving user), shellcheck-clean', { skip: spawnSync('shellcheck', ['--version']).status !== 0 && 'no shellcheck' }, async (t) => {
  const script = renderPitrStore(store, [db]);
  t.match(script, /^HOSTS='db-prod 10\.213\.7\.10 5432 15\/main 600 ironclad-pitr-db-prod'$/m);
  t.match(script, /^SHARED_USER='ironclad-pitr'$/m, 'the user all hosts shared before, whose spools are handed over');
  t.match(script, /^MIN_FREE='5%'$/m, 'the store\'s free-space floor by default');
  t.match(script, /^PGBIN='\/usr\/lib\/postgresql\/15\/bin'$/m);
  const f = join(tempDir('ironclad-pitr-render-'), 'ironclad-pitr');
  writeFileSync(f, script);
  const r = spawnSync('shellcheck', ['-s', 'sh', f], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout);
});

t.test('schedules, supervision, sudo, heartbeat', async (t) => {
  t.match(renderPitrCron([db], false), /^15 2 \* \* \* root \/usr\/local\/sbin\/ironclad-pitr base db-prod /m);
  t.match(renderPitrCron([db], false), /^\*\/5 \* \* \* \* root \/usr\/local\/sbin\/ironclad-pitr health /m);
  t.throws(() => renderPitrCron([{ ...db, pitr: { base_schedule: 'whenever' } } as Host], false), /db-prod: pitr\.base_schedule/);
  t.match(renderPitrUnit(), /ExecStart=\/usr\/local\/sbin\/ironclad-pitr receive %i\nRestart=always/);
  t.equal(renderPitrSudoers(store), '# ironclad: a restoring host\'s read key may have root encrypt the WAL segment being received. Rendered by ironclad apply.\nironclad-backup ALL=(root) NOPASSWD: /usr/local/sbin/ironclad-pitr partial *\n');
  t.match(renderHeartbeatCron(db), /^\* \* \* \* \* postgres cd \/ && psql .*INSERT INTO ironclad\.heartbeat\(at\) VALUES \(now\(\)\).*; sleep 30; cd \/ && psql /m, 'a row every 30 s');
});
