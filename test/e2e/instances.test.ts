// The single-instance check on real lab hosts (test/fixtures/instances/lab.yaml: its own bridge, subnet and
// state directory): a freshly provisioned host passes, then each fault of the post-mortem is injected on cen-db
// and must be named (exit 3), and the host is put back and passes again. Also: the gate the backup job embeds,
// an allowed extra cluster on cen-db2, and the census of 10 hosts in parallel under 2 s.
// Needs root on Linux and PostgreSQL 15 on this machine; the lab is always taken down afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Family } from '../../scripts/cli.js';
import { familyNames } from '../../scripts/families.js';
import { applyFamily } from '../../scripts/provision.js';
import { checkFamily } from '../../scripts/instances.js';
import { withPool } from '../../src/executor/pool.js';
import { checkAll } from '../../src/instances/check.js';
import { gateScript } from '../../src/instances/gate.js';
import { censusExitCode, censusJson, type HostCensusJson } from '../../src/instances/report.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Host } from '../../src/inventory/types.js';
import { labDown } from '../../src/lab/down.js';
import { planLab } from '../../src/lab/plan.js';
import { labUnavailable, otherLeases, slotFile, withLab } from './helpers/lab.js';

const INVENTORY = slotFile(fileURLToPath(new URL('../fixtures/instances/lab.yaml', import.meta.url)));
const SECRET = join(planLab(loadInventory(INVENTORY)).stateDir, 'secrets/app.pw');
const BIN = '/usr/lib/postgresql/15/bin';
const PGC = 'pg_ctlcluster --skip-systemctl-redirect';

/** Put cen-db back to its provisioned state, whatever a fault left (idempotent). */
const RESET = `cd /
for d in /var/lib/postgresql/copy /var/lib/postgresql/fresh; do
  if [ -f "$d/postmaster.pid" ]; then su postgres -c "${BIN}/pg_ctl -D $d -w -m fast stop" >/dev/null 2>&1 || true; fi
  rm -rf "$d"
done
if [ -d /etc/postgresql/15/other ]; then pg_dropcluster --stop 15 other; fi
if [ -d /var/lib/postgresql/15/main.keep ]; then
  ${PGC} 15 main stop >/dev/null 2>&1 || true
  rm -rf /var/lib/postgresql/15/main && mv /var/lib/postgresql/15/main.keep /var/lib/postgresql/15/main
fi
${PGC} 15 main status >/dev/null 2>&1 || ${PGC} 15 main start
`;

const unavailable = labUnavailable() ?? (existsSync(BIN) ? undefined : `PostgreSQL 15 is not installed here (${BIN})`);
const inventory = loadInventory(INVENTORY);
const plan = planLab(inventory);

/** The census of some hosts through the library, as `check instances --json` prints it, with its exit code. */
async function census(hosts: Host[]): Promise<{ code: number; hosts: HostCensusJson[] }> {
  const outcomes = await withPool((pool) => checkAll(hosts, pool));
  return { code: censusExitCode(outcomes), hosts: censusJson(outcomes).hosts };
}

const CLI = fileURLToPath(new URL('../../dist/scripts/ironclad.js', import.meta.url));

/**
 * `ironclad -i INVENTORY WORDS...`: through the built CLI when the family is registered there (as a user runs it),
 * else the family object in this process (stdout captured).
 */
async function ironclad(t: Test, f: Family, words: string[], opts: { json?: boolean; yes?: boolean } = {}): Promise<{ code: number; out: string; err: string; via: string }> {
  const flags = [...(opts.json ? ['--json'] : []), ...(opts.yes ? ['--yes'] : [])];
  if (existsSync(CLI) && familyNames.includes(f.name)) {
    const r = spawnSync(process.execPath, [CLI, '-i', INVENTORY, ...flags, f.name, ...words], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: r.status ?? 1, out: r.stdout, err: r.stderr, via: 'the built CLI' };
  }
  const out = t.capture(process.stdout, 'write', () => true);
  let code: number;
  try {
    code = await f.run({ words, options: {}, flags: { inventory: INVENTORY, json: Boolean(opts.json), yes: Boolean(opts.yes) } });
  } finally {
    out.restore();
  }
  return { code, out: out.calls.map((c) => String(c.args[0])).join(''), err: '', via: `the ${f.name} family in this process (not registered in scripts/families.ts)` };
}

if (unavailable) t.plan(0, unavailable);
else if (otherLeases(plan).length) t.plan(0, `the census lab is in use by test process ${otherLeases(plan).join(', ')}`);
else {
  if (!existsSync(SECRET)) {
    mkdirSync(dirname(SECRET), { recursive: true, mode: 0o700 });
    writeFileSync(SECRET, `census-${process.pid}-${Date.now()}\n`, { mode: 0o600 });
  }
  await labDown(plan); // from nothing, whatever an earlier run left
  const lab = await withLab(t, { inventoryFile: INVENTORY });
  const db = inventory.hosts.find((h) => h.name === 'cen-db')!;
  const db2 = inventory.hosts.find((h) => h.name === 'cen-db2')!;
  const onDb = (script: string) => lab.sshOk('cen-db', script);
  const problemsOf = async () => {
    const r = await census([db]);
    return { code: r.code, problems: r.hosts[0]!.problems, host: r.hosts[0]! };
  };

  /** Inject a fault on cen-db, check what the census says, then put the host back and see it clean again. */
  async function fault(t: Test, inject: string, expect: RegExp[], more?: (h: HostCensusJson) => Promise<void>) {
    try {
      await onDb(inject);
      const { code, problems, host } = await problemsOf();
      t.equal(code, 3, 'exit 3');
      t.equal(problems.length, expect.length, problems.join('\n'));
      for (const re of expect) t.ok(problems.some((p) => re.test(p)), `named: ${re}\n${problems.join('\n')}`);
      await more?.(host);
    } finally {
      await onDb(RESET);
    }
    const after = await problemsOf();
    t.equal(after.code, 0, `clean again once put back\n${after.problems.join('\n')}`);
  }

  const notRunning = /^PostgreSQL 15\/main is not running \(expected on port 5432 from \/var\/lib\/postgresql\/15\/main\)/;

  await t.test('apply provisions both hosts', async (t) => {
    const r = await ironclad(t, applyFamily, [], { yes: true });
    t.equal(r.code, 0, r.out + r.err);
    t.comment(`apply ran through ${r.via}`);
  });

  await t.test('clean provisioned hosts pass, with their pinned identities', async (t) => {
    const r = await ironclad(t, checkFamily, ['instances'], { json: true });
    t.equal(r.code, 0, r.out + r.err);
    t.comment(`check instances ran through ${r.via}`);
    const doc = JSON.parse(r.out) as { hosts: HostCensusJson[] };
    t.same(doc.hosts.map((h) => [h.host, h.ok, h.problems]), [['cen-db', true, []], ['cen-db2', true, []]]);
    const pinned = JSON.parse(await onDb('cat /var/lib/ironclad/identity.json'))[0].system_identifier;
    t.match(doc.hosts[0]!.instances, [{ port: 5432, data_directory: '/var/lib/postgresql/15/main', pid: Number, system_identifier: pinned }]);
    t.same(doc.hosts[0]!.instances[0]!.sources, ['process', 'tcp', 'unix', 'pg_lsclusters', 'pidfile'], 'seen by every source');
    t.ok(doc.hosts[1]!.notes.some((n) => /15\/reports \(allowed on port 5433\) is not running/.test(n)), 'the allowed extra cluster is only noted');
    const human = await ironclad(t, checkFamily, ['instances']);
    t.match(human.out, /^cen-db: ok\n {4}port 5432 {2}pid \d+ {2}\/var\/lib\/postgresql\/15\/main/);
  });

  await t.test('a second cluster on another port', async (t) => {
    await fault(t, `pg_createcluster 15 other -p 5433 >/dev/null && ${PGC} 15 other start`, [
      /^a second PostgreSQL is running: cluster 15\/other, pid \d+ on port 5433 from \/var\/lib\/postgresql\/15\/other \(not in the inventory\)\. Backups could dump the wrong one\.$/,
    ]);
  });

  await t.test('a second cluster, stopped, that would start at the next boot', async (t) => {
    await fault(t, `pg_createcluster 15 other -p 5433 >/dev/null`, [/^cluster 15\/other \(port 5433, \/var\/lib\/postgresql\/15\/other\) is configured here but not in the inventory; it is down now but starts at the next boot/]);
  });

  await t.test('a second postmaster on a copy of the data directory', async (t) => {
    const inject = [
      `${PGC} 15 main stop`,
      'cp -a /var/lib/postgresql/15/main /var/lib/postgresql/copy',
      `${PGC} 15 main start`,
      // the copy runs on its own: a minimal configuration of its own, on port 5434
      `printf "port = 5434\\nlisten_addresses = ''\\nunix_socket_directories = '/var/run/postgresql'\\n" > /var/lib/postgresql/copy/postgresql.conf`,
      `echo 'local all all peer' > /var/lib/postgresql/copy/pg_hba.conf && : > /var/lib/postgresql/copy/pg_ident.conf && chown postgres: /var/lib/postgresql/copy/*.conf`,
      `cd / && su postgres -c "${BIN}/pg_ctl -D /var/lib/postgresql/copy -l /tmp/copy.log -w start" >/dev/null`,
    ].join(' && ');
    await fault(t, inject, [/^a second PostgreSQL is running: pid \d+ on port 5434 from \/var\/lib\/postgresql\/copy \(not in the inventory\)\. Backups could dump the wrong one\. It is a copy of 15\/main \(same system identifier\)/]);
  });

  await t.test('the expected port taken by a freshly initialized, empty cluster (the post-mortem), and the gate refuses', async (t) => {
    const gate = `${gateScript(db)}\nironclad_gate\necho 'backup would run'\n`;
    const clean = await lab.ssh('cen-db', 'sh -s', { stdin: gate });
    t.equal(clean.code, 0, `the gate passes on the clean host\n${clean.stderr}`);
    t.equal(clean.stdout, 'backup would run\n');
    const inject = [
      `${PGC} 15 main stop`,
      `cd / && su postgres -c "${BIN}/initdb -D /var/lib/postgresql/fresh" >/dev/null 2>&1`,
      `su postgres -c "${BIN}/pg_ctl -D /var/lib/postgresql/fresh -l /tmp/fresh.log -w start" >/dev/null`,
    ].join(' && ');
    await fault(t, inject, [notRunning, /^port 5432 is answered by another data directory: pid \d+ on port 5432 from \/var\/lib\/postgresql\/fresh, system identifier \d+, not by 15\/main \(\/var\/lib\/postgresql\/15\/main\)\. A backup now would dump the wrong database, probably an empty one\.$/], async () => {
      const refused = await lab.ssh('cen-db', 'sh -s', { stdin: gate });
      t.equal(refused.code, 3, 'the gate exits 3');
      t.equal(refused.stdout, '', 'the job stopped before its work');
      t.match(refused.stderr, /^ironclad gate: refusing to go on: the single-instance check found problems on cen-db:\n {2}- PostgreSQL 15\/main is not running.*\n {2}- port 5432 is answered by another data directory/);
    });
  });

  await t.test('a stale postmaster.pid: the postmaster killed with -9', async (t) => {
    await fault(t, 'kill -9 "$(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)" && sleep 0.5', [
      notRunning,
      /^a stale postmaster\.pid in \/var\/lib\/postgresql\/15\/main names pid \d+, which is not running: PostgreSQL 15\/main was killed or crashed/,
    ]);
  });

  await t.test('a stale postmaster.pid naming a pid that now belongs to another program', async (t) => {
    const sshd = (await onDb('pgrep -o -x sshd')).trim();
    await fault(t, `${PGC} 15 main stop && printf '%s\\n' ${sshd} /var/lib/postgresql/15/main 1795580477 5432 /var/run/postgresql 127.0.0.1 > /var/lib/postgresql/15/main/postmaster.pid`, [
      notRunning,
      new RegExp(`^a stale postmaster\\.pid in /var/lib/postgresql/15/main names pid ${sshd}, which is now another program \\(sshd\\)`),
    ]);
  });

  await t.test('the instance stopped', async (t) => {
    await fault(t, `${PGC} 15 main stop`, [notRunning]);
  });

  await t.test('re-initialized in place: the system identifier changed', async (t) => {
    const inject = [
      `${PGC} 15 main stop`,
      'mv /var/lib/postgresql/15/main /var/lib/postgresql/15/main.keep',
      `cd / && su postgres -c "${BIN}/initdb -D /var/lib/postgresql/15/main" >/dev/null 2>&1`,
      `${PGC} 15 main start`,
    ].join(' && ');
    await fault(t, inject, [/^the system identifier of 15\/main changed: \d+ was pinned on .*, \/var\/lib\/postgresql\/15\/main now holds \d+\. The data directory was re-initialized and is probably empty/]);
  });

  await t.test('cen-db2: the extra cluster the inventory allows may run', async (t) => {
    try {
      await lab.sshOk('cen-db2', `pg_createcluster 15 reports -p 5433 >/dev/null && ${PGC} 15 reports start`);
      const r = await census([db2]);
      t.equal(r.code, 0, r.hosts[0]!.problems.join('\n'));
      t.same(r.hosts[0]!.instances.map((i) => [i.port, i.expected_as]), [[5432, '15/main'], [5433, '15/reports']]);
    } finally {
      await lab.sshOk('cen-db2', 'pg_dropcluster --stop 15 reports');
    }
  });

  // its time is reported, not asserted (speed is measured, never a timed test): the README records it
  await t.test('the census of 10 hosts in parallel, each its own connection and round trip, all clean', async (t) => {
    const ten = Array.from({ length: 10 }, (_, i) => ({ ...(i % 2 ? db2 : db), name: `${i % 2 ? 'cen-db2' : 'cen-db'}-${i}` }));
    const runs: number[] = [];
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const r = await census(ten);
      runs.push(Math.round(performance.now() - started));
      t.equal(r.code, 0, r.hosts.flatMap((h) => h.problems).join('\n'));
      t.same(r.hosts.map((h) => h.host), ten.map((h) => h.name), 'every host answered');
    }
    t.comment(`census of 10 hosts in parallel (one SSH connection + one round trip each): ${runs.join(', ')} ms`);
  });
}
