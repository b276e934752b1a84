// Loading a valid inventory: defaults merged, paths resolved against the inventory's folder, ~ expanded; host selection.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { inventoryFile, inventoryPath, loadInventory, selectHosts, validateInventory } from '../../src/inventory/load.js';
import { InvalidInput } from '../../src/inventory/problems.js';
import { findHost } from '../../src/inventory/types.js';
import { invalidDir, validDir } from '../fixtures/inventory/harness.js';

t.test('inventoryPath: ~ is home, relative is relative to the inventory folder, absolute stays', async (t) => {
  const cases: [string, string][] = [
    ['~', homedir()],
    ['~/.ssh/id', join(homedir(), '.ssh/id')],
    ['./known_hosts', '/etc/inv/known_hosts'],
    ['keys/id', '/etc/inv/keys/id'],
    ['../shared/k', '/etc/shared/k'],
    ['/var/lib/k', '/var/lib/k'],
    ['~other/k', '/etc/inv/~other/k'],
  ];
  for (const [input, out] of cases) t.equal(inventoryPath('/etc/inv', input), out, `'${input}' -> '${out}'`);
});

t.test('normalize: ssh defaults merged per host, paths resolved, postgres and backup defaults filled', async (t) => {
  const inv = loadInventory(join(validDir, 'full.yaml'));
  t.equal(inv.file, join(validDir, 'full.yaml'));
  t.equal(inv.dir, validDir);
  t.same(inv.hosts.map((h) => h.name), ['db-prod', 'app-prod', 'backup-far', 'staging'], 'hosts in file order');

  const db = findHost(inv, 'db-prod')!;
  t.same(db.ssh, {
    user: 'ops', // defaults.ssh
    port: 2222, // the host's own ssh
    identity_file: join(validDir, 'keys/id_ed25519'), // relative to the inventory's folder
    known_hosts: join(homedir(), '.ssh/ironclad_known_hosts'), // ~ expanded
    connect_timeout: 5, // defaults.ssh
    command_timeout: 7200, // the host's own
  });
  t.equal(db.postgres?.version, 15, "the host's own postgres version wins");
  t.same(db.tags, ['production', 'primary']);
  t.equal(db.backup?.format, 'directory');
  t.same(db.backup?.retention, { daily: 7, weekly: 4, monthly: 12 });

  const backupFar = findHost(inv, 'backup-far')!;
  t.equal(backupFar.ssh.user, 'root', "the host's ssh.user wins over defaults");
  t.equal(backupFar.ssh.port, 22, 'built-in default port');
  t.equal(backupFar.ssh.command_timeout, 3600, 'built-in default command timeout');
  t.same(backupFar.backup_store, { path: '/srv/ironclad/backups', user: 'ironclad-backup' });
  t.equal(backupFar.postgres, undefined);

  const staging = findHost(inv, 'staging')!;
  t.equal(staging.postgres?.version, 16, 'defaults.postgres.version');
  t.equal(staging.backup?.format, 'custom', 'default backup format');
  t.same(staging.backup?.retention, { daily: 1, weekly: 0, monthly: 0 }, 'weekly and monthly default to 0');

  t.same(findHost(inv, 'app-prod')!.tags, ['production']);
  t.equal(inv.refresh.staging.scrub, join(validDir, 'scrub/app.yaml'), 'scrub path resolved');
  t.equal(inv.images.length, 2);
  t.same(inv.lab, { bridge: 'icl9', subnet: '10.213.9.0/24', state_dir: '/var/lib/ironclad-test' });
});

t.test('normalize: with no defaults, the built-in ssh settings apply', async (t) => {
  const inv = loadInventory(join(validDir, 'minimal.yaml'));
  t.same(inv.hosts[0].ssh, {
    user: 'root',
    port: 22,
    identity_file: join(homedir(), '.ssh/id_ed25519'),
    known_hosts: join(homedir(), '.ssh/known_hosts'),
    connect_timeout: 10,
    command_timeout: 3600,
  });
  t.same(inv.hosts[0].tags, []);
  t.same(inv.images, []);
  t.same(inv.refresh, {});
});

t.test('a relative -i path is resolved from the working directory', async (t) => {
  const dir = t.testdir({ 'inv.yaml': 'version: 1\nhosts:\n  a:\n    address: 10.1.1.1\n    ssh: { identity_file: k/id }\n' });
  const cwd = process.cwd();
  process.chdir(resolve(dir, '..'));
  try {
    const inv = loadInventory(join(dir.split('/').pop()!, 'inv.yaml'));
    t.equal(inv.file, join(dir, 'inv.yaml'));
    t.equal(inv.hosts[0].ssh.identity_file, join(dir, 'k/id'));
  } finally {
    process.chdir(cwd);
  }
});

t.test('loadInventory throws InvalidInput (exit 2) with every problem', async (t) => {
  const file = join(invalidDir, 'many-problems.yaml');
  const { problems } = validateInventory(file);
  t.throws(() => loadInventory(file), InvalidInput);
  try {
    loadInventory(file);
  } catch (e) {
    t.ok(e instanceof InvalidInput);
    t.equal((e as InvalidInput).exitCode, 2);
    t.equal((e as InvalidInput).problems.length, problems.length);
    t.match((e as InvalidInput).message, `${problems.length} problems found`);
  }
});

t.test('inventoryFile: -i, else $IRONCLAD_INVENTORY, else inventory/inventory.yaml', async (t) => {
  const saved = process.env.IRONCLAD_INVENTORY;
  t.teardown(() => {
    if (saved === undefined) delete process.env.IRONCLAD_INVENTORY;
    else process.env.IRONCLAD_INVENTORY = saved;
  });
  delete process.env.IRONCLAD_INVENTORY;
  t.equal(inventoryFile(), 'inventory/inventory.yaml');
  t.equal(inventoryFile('x.yaml'), 'x.yaml');
  process.env.IRONCLAD_INVENTORY = 'from-env.yaml';
  t.equal(inventoryFile(), 'from-env.yaml');
  t.equal(inventoryFile('x.yaml'), 'x.yaml', '-i wins');
});

t.test('selectHosts', async (t) => {
  const inv = loadInventory(join(validDir, 'reference.yaml'));
  t.same(selectHosts(inv).map((h) => h.name), ['db-prod', 'app-prod', 'backup-far', 'staging'], 'no limit: all');
  t.same(selectHosts(inv, []).map((h) => h.name).length, 4, 'empty limit: all');
  t.same(selectHosts(inv, ['staging', 'db-prod']).map((h) => h.name), ['db-prod', 'staging'], 'inventory order');
  const cases = [['db-prd'], ['staging', 'nope']];
  for (const names of cases) {
    t.throws(() => selectHosts(inv, names), UserError, `${names.join(',')} -> UserError`);
    try {
      selectHosts(inv, names);
    } catch (e) {
      const err = e as UserError;
      t.equal(err.exitCode, 2);
      t.match(err.message, `unknown host '${names[names.length - 1]}'`);
      t.match(err.hint ?? '', 'db-prod, app-prod, backup-far, staging', 'the hint lists the hosts');
    }
  }
});

t.test('a repeated host name is reported, and the other problems of the file too', async (t) => {
  const dir = t.testdir();
  mkdirSync(join(dir, 'x'));
  const file = join(dir, 'x', 'inv.yaml');
  writeFileSync(file, ['version: 1', 'hosts:', '  a:', '    address: 10.1.1.1', '  a:', '    address: 10.1.1.2', '    tagz: [x]', ''].join('\n'));
  const { problems } = validateInventory(file);
  t.same(
    problems.map((p) => `${p.line}:${p.col} ${p.path}`).sort(),
    ['5:3 hosts.a', '7:5 hosts.a.tagz'],
    'the duplicate and the unknown field of the second definition',
  );
});
