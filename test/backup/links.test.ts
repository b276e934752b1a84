// The backup wiring across hosts (planLinks) with canned host state: --limit means no other host is contacted, and
// what a limited host needs to know about another comes from what it already has, else it waits, named.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { drillHost, planLinks, restorersOf } from '../../src/backup/links.js';
import { readOnlyKeyLine, authorizedKeyLine } from '../../src/backup/render.js';
import { storeRootLayout } from '../../src/facts/backup-state.js';
import type { Connector, RunResult } from '../../src/connectors/types.js';
import { ConnectionPool } from '../../src/executor/pool.js';
import { loadInventory } from '../../src/inventory/load.js';
import { tempDir } from '../fixtures/tmp.js';

// the store's pinned host key, from a known_hosts file of the test's own (never the lab's)
const knownHosts = join(tempDir('ironclad-links-'), 'known_hosts');
writeFileSync(knownHosts, '10.213.7.12 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownStoreKeyForTheTest\n');
const loaded = loadInventory('inventory/lab.yaml');
const inv = { ...loaded, hosts: loaded.hosts.map((h) => ({ ...h, ssh: { ...h.ssh, known_hosts: knownHosts } })) };
const host = (n: string) => inv.hosts.find((h) => h.name === n)!;
const AGE_STAGING = 'age1' + 's'.repeat(58);
const AGE_DB = 'age1' + 'd'.repeat(58);
const HOME = '/var/lib/ironclad-backup';

/** A host that answers the fact script with canned sections (absent ones fail, as a missing file would). */
function fakeHost(name: string, sections: Record<string, string>, contacted: string[]): Connector {
  const answer = (script: string): RunResult => {
    const marker = /ic_m='([^']+)'/.exec(script)![1];
    const names = [...script.matchAll(/begin %s\\n' "\$ic_m" ([a-z_]+)/g)].map((m) => m[1]);
    // (the backup_state fact's sections are named backup_state__NAME in the script; the canned ones by NAME)
    const canned = (n: string) => n.replace(/^backup_state__/, '');
    const stdout = names.map((n) => `${marker} begin ${n}\n${sections[canned(n)] ?? ''}\n${marker} end ${n} ${canned(n) in sections ? 0 : 1}\n\n`).join('');
    return { host: name, command: 'facts', code: 0, stdout, stderr: '', durationMs: 1 };
  };
  return {
    host: name,
    run: async (script) => (contacted.push(name), answer(script)),
    put: async () => undefined,
    get: async () => Buffer.from(''),
    hold: async () => undefined,
    close: async () => undefined,
  };
}

const layout = [`${HOME} root root 755`, `${HOME}/.ssh root root 755`, ...storeRootLayout(host('backup-far'), ['db-prod']).map(([p, how]) => `${p} ${how}`)].join('\n');
const dbProd = (recipients: string) => ({ pubkey: 'ssh-ed25519 AAAAdb db', refreshkey: 'ssh-ed25519 AAAAdbro db', agekey: AGE_DB, tools: 'rsync\nage', file_recipients: recipients });
const store = {
  tools: 'rsync\nsudo',
  store_user: `${HOME}\n${authorizedKeyLine('db-prod', 'ssh-ed25519 AAAAdb db')}\n${readOnlyKeyLine('db-prod', 'ssh-ed25519 AAAAdbro db', ['db-prod'])}\n${readOnlyKeyLine('staging', 'ssh-ed25519 AAAAst st', ['db-prod'])}\n`, // (cat prints the file's last newline)
  store_layout: layout,
};

async function plan(selected: string[], states: Record<string, Record<string, string>>) {
  const contacted: string[] = [];
  const pool = new ConnectionPool(async (h) => fakeHost(h.name, states[h.name] ?? {}, contacted), selected);
  const plans = await planLinks(inv, selected.map(host), pool, () => 'ironclad_gate() { :; }');
  return { plans, contacted: [...new Set(contacted)].sort() };
}

t.test('who restores whose backups, and where drills run', async (t) => {
  t.same(restorersOf(inv, host('db-prod')).map((h) => h.name).sort(), ['db-prod', 'staging'], 'the host itself and its refresh target');
  t.equal(drillHost(inv, host('db-prod')).name, 'staging', 'the refresh target by default');
  const named = { ...inv, hosts: inv.hosts.map((h) => (h.name === 'db-prod' ? { ...h, backup: { ...h.backup!, drill: { host: 'backup-far' } } } : h)) };
  t.throws(() => drillHost(named, named.hosts.find((h) => h.name === 'db-prod')!), /is a backup store: drills run where the decryption identity is/);
});

t.test('--limit db-prod,backup-far: staging is never contacted; its keys come from what the limited hosts already have', async (t) => {
  const recipients = `# db-prod\n${AGE_DB}\n# staging\n${AGE_STAGING}\n`;
  const { plans, contacted } = await plan(['db-prod', 'backup-far'], { 'db-prod': dbProd(recipients), 'backup-far': store });
  t.same(contacted, ['backup-far', 'db-prod']);
  const db = plans.find((p) => p.host === 'db-prod')!;
  t.same(db.waiting, [], "staging's age key is known from db-prod's own recipients file");
  t.notOk(db.changes.some((c) => c.description.includes('recipients')), 'the recipients stay as they are');
  const s = plans.find((p) => p.host === 'backup-far')!;
  t.same(s.waiting, []);
  t.same(s.changes.filter((c) => c.description.startsWith('allow db-prod')).map((c) => c.diff), [], "staging's read key stays allowed: its line is kept from the store's own file");
});

t.test('--limit db-prod: a recipient it does not know yet is deferred and named, never guessed', async (t) => {
  const { plans, contacted } = await plan(['db-prod'], { 'db-prod': dbProd(`# db-prod\n${AGE_DB}\n`) });
  t.same(contacted, ['db-prod']);
  t.same(plans.find((p) => p.host === 'db-prod')!.waiting, ['staging'], 'staging named as what its backups wait for');
  t.match(plans.find((p) => p.host === 'db-prod')!.changes.at(-1), { operation: 'deferred', description: /^waits for the age key of staging .*apply again once it is reachable/, commands: [] }, 'and the plan says so');
});

t.test('all hosts: a key staging made is picked up from staging itself', async (t) => {
  const { plans, contacted } = await plan(['db-prod', 'backup-far', 'staging', 'app-prod'], {
    'db-prod': dbProd(`# db-prod\n${AGE_DB}\n`),
    'backup-far': store,
    staging: { refreshkey: 'ssh-ed25519 AAAAst st', agekey: AGE_STAGING, tools: 'rsync\nage' },
  });
  t.same(contacted, ['backup-far', 'db-prod', 'staging'], 'app-prod has no part in the backups: not contacted');
  const recipients = plans.find((p) => p.host === 'db-prod')!.changes.find((c) => c.description.includes('recipients'))!.commands[0];
  t.equal(recipients.kind === 'upload' && recipients.content, `# db-prod\n${AGE_DB}\n# staging\n${AGE_STAGING}\n`);
});
