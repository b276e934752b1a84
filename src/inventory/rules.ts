// Semantic rules the schema cannot express: references between hosts, uniqueness, safety of refresh targets.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Problem } from './problems.js';
import { parseSchedule } from './schedule.js';
import type { Source } from './source.js';
import { didYouMean } from './suggest.js';

type Raw = Record<string, any>;
type At = (path: (string | number)[], msg: string, key?: boolean) => void;

/** Every rule's problems for an inventory document. Each host, image pair and refresh is checked on its own,
 * so a part the schema already rejected (and cannot be read) does not hide the problems of the others. */
export function ruleProblems(source: Source, resolvePath: (p: string) => string): Problem[] {
  const inv = (isMap(source.data) ? source.data : {}) as Raw;
  const hosts: Record<string, Raw> = isMap(inv.hosts) ? inv.hosts : {};
  const out: Problem[] = [];
  const at: At = (path, msg, key = false) => out.push(source.problem(path, msg, key));
  const guarded = (check: () => void) => {
    try {
      check();
    } catch {
      // a shape the schema rejects; its problem is already reported there
    }
  };

  const byAddress = new Map<string, string>();
  for (const [name, host] of Object.entries(hosts))
    guarded(() => {
      addressRules(name, host, byAddress, at);
      hostRules(name, host, hosts, at);
    });

  const imageNames = new Set<string>();
  if (Array.isArray(inv.images))
    inv.images.forEach((img: Raw, i: number) =>
      guarded(() => {
        if (imageNames.has(img.name)) at(['images', i, 'name'], `image pair '${img.name}' is defined twice; give each pair its own name`);
        const twin = typeof img.name === 'string' ? [...imageNames].find((n) => n !== img.name && n.replace(/\./g, '_') === img.name.replace(/\./g, '_')) : undefined;
        if (twin) at(['images', i, 'name'], `image pairs '${twin}' and '${img.name}' would share one check job (cron names cannot hold '.'); rename one`);
        imageNames.add(img.name);
        for (const side of ['source', 'replica'] as const)
          if (typeof img[side]?.host === 'string' && !hosts[img[side].host]) at(['images', i, side, 'host'], unknownHost(img[side].host, hosts));
        if (img.source.host === img.replica.host && img.source.path === img.replica.path)
          at(['images', i, 'replica'], 'the replica is the same place as the source; point it at another host or path');
        if (typeof img.check?.schedule === 'string') {
          const s = parseSchedule(img.check.schedule);
          if (!s.ok) at(['images', i, 'check', 'schedule'], s.error);
        }
      }),
    );

  for (const [name, r] of Object.entries(isMap(inv.refresh) ? (inv.refresh as Record<string, Raw>) : {}))
    guarded(() => {
      refreshRules(name, r, hosts, at);
      if (typeof r.scrub !== 'string') return;
      const scrubPath = resolvePath(r.scrub);
      if (!existsSync(scrubPath))
        at(['refresh', name, 'scrub'], `scrub file ${scrubPath} does not exist (a relative path is relative to the inventory's folder); without scrub rules a refresh would copy personal data to staging`);
    });
  return out;
}

function isMap(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownHost(name: string, hosts: Record<string, Raw>): string {
  const names = Object.keys(hosts);
  return `host '${name}' is not in this inventory${didYouMean(name, names)}; hosts: ${names.join(', ')}`;
}

function addressRules(name: string, host: Raw, byAddress: Map<string, string>, at: At): void {
  if (typeof host?.address !== 'string') return;
  const address = host.address.toLowerCase();
  if (/^[\d.]+$/.test(address) && !isIP(address))
    at(['hosts', name, 'address'], `'${host.address}' is not a valid IPv4 address (four numbers 0..255 separated by dots)`);
  const prev = byAddress.get(address);
  if (prev) at(['hosts', name, 'address'], `address ${host.address} is already used by host '${prev}'; each host needs its own address`);
  else byAddress.set(address, name);
}

/** Folder names the backup store uses beside its hosts' folders (src/backup/store.sh, src/pitr/store.sh). */
const RESERVED_ON_STORE = ['incoming', 'pitr'];

function hostRules(name: string, host: Raw, hosts: Record<string, Raw>, at: At): void {
  const pg = isMap(host?.postgres) ? host.postgres : undefined;
  if (pg) postgresRules(['hosts', name, 'postgres'], pg, at);
  if (pg && isMap(pg.amcheck)) scheduleRule(['hosts', name, 'postgres', 'amcheck', 'schedule'], pg.amcheck.schedule, at);
  const b = host?.backup;
  if (!isMap(b)) return;
  const path = ['hosts', name, 'backup'];
  // the store keeps each host's backups in ROOT/HOST, beside its own folders incoming/ and pitr/
  if (RESERVED_ON_STORE.includes(name)) at(['hosts', name], `a host that backs up cannot be named '${name}': the backup store uses that folder name itself; rename the host`, true);
  if (!pg) at(path, 'a host with backup: needs a postgres: section (what would it back up?)', true);
  if (typeof b.to === 'string') {
    const target = hosts[b.to];
    if (!target) at([...path, 'to'], unknownHost(b.to, hosts));
    else if (b.to === name) at([...path, 'to'], 'a host cannot be its own off-site backup store; name another host with a backup_store');
    else if (!target.backup_store) at([...path, 'to'], `host '${b.to}' has no backup_store; add backup_store: { path, user } to it, or send backups to a host that has one`);
  }
  if (pg && Array.isArray(b.databases)) {
    const dbs = (Array.isArray(pg.databases) ? pg.databases : []).map((d: Raw) => d?.name);
    (b.databases as unknown[]).forEach((d, i) => {
      if (typeof d === 'string' && !dbs.includes(d))
        at([...path, 'databases', i], `database '${d}' is not among this host's postgres.databases${didYouMean(d, dbs)}; add it there or remove it here`);
    });
  }
  scheduleRule([...path, 'schedule'], b.schedule, at);
  if (isMap(host.pitr)) scheduleRule(['hosts', name, 'pitr', 'base_schedule'], host.pitr.base_schedule, at);
}

/** A schedule field (OnCalendar) ironclad can turn into a timer and a cron line; absent is fine. */
function scheduleRule(path: (string | number)[], value: unknown, at: At): void {
  if (typeof value !== 'string') return;
  const s = parseSchedule(value);
  if (!s.ok) at(path, s.error);
}

/** Managed settings: ironclad writes these itself from other fields. */
const managedSettings: Record<string, string> = {
  port: 'postgres.port',
  listen_addresses: 'postgres.listen',
  data_directory: 'postgres.cluster',
  hba_file: 'postgres.hba',
};

function postgresRules(base: (string | number)[], pg: Raw, at: At): void {
  const list = (v: unknown): Raw[] => (Array.isArray(v) ? v.filter(isMap) : []);
  const roleNames = list(pg.roles).map((r) => r.name);
  const roles = new Set<string>(['postgres', ...roleNames]);
  const seen = new Set<string>();
  list(pg.roles).forEach((r, i) => {
    if (seen.has(r.name)) at([...base, 'roles', i, 'name'], `role '${r.name}' is defined twice; merge the two entries`);
    seen.add(r.name);
    if (r.password && r.login === false) at([...base, 'roles', i, 'password'], 'a role that cannot log in needs no password; remove it or set login: true', true);
  });
  const dbs = new Set<string>();
  list(pg.databases).forEach((d, i) => {
    if (dbs.has(d.name)) at([...base, 'databases', i, 'name'], `database '${d.name}' is defined twice; merge the two entries`);
    dbs.add(d.name);
    if (typeof d.owner === 'string' && !roles.has(d.owner))
      at([...base, 'databases', i, 'owner'], `owner '${d.owner}' is not a role of this host${didYouMean(d.owner, [...roles])}; add it under postgres.roles`);
  });
  list(pg.hba).forEach((h, i) => {
    const path = [...base, 'hba', i];
    if (h.type === 'local' && h.address) at([...path, 'address'], "a 'local' rule (Unix socket) takes no address; remove it or use type: host");
    if (h.type !== 'local' && !h.address) at(path, `a '${h.type}' rule needs an address, e.g. address: 10.0.0.0/24`);
    if (typeof h.address === 'string' && !validCidr(h.address)) at([...path, 'address'], `'${h.address}' is not an address or CIDR range such as 10.0.0.0/24`);
  });
  if (Array.isArray(pg.listen))
    pg.listen.forEach((a: unknown, i: number) => {
      if (typeof a === 'string' && a !== '*' && a !== 'localhost' && !isIP(a))
        at([...base, 'listen', i], `'${a}' is not an IP address, 'localhost' or '*'`);
    });
  if (isMap(pg.settings))
    for (const [key, field] of Object.entries(managedSettings))
      if (key in pg.settings) at([...base, 'settings', key], `'${key}' is managed by ironclad from ${field}; remove it from settings and use ${field} instead`, true);
  const ports = new Set<number>([pg.port]);
  list(pg.extra_clusters).forEach((c, i) => {
    if (ports.has(c.port)) at([...base, 'extra_clusters', i, 'port'], `port ${c.port} is already used by another cluster on this host; two clusters cannot share a port`);
    ports.add(c.port);
  });
}

function refreshRules(name: string, r: Raw, hosts: Record<string, Raw>, at: At): void {
  const path = ['refresh', name];
  const fromName = r.from?.host;
  const toName = r.to?.host;
  if (typeof fromName === 'string') {
    const from = hosts[fromName];
    if (!from) at([...path, 'from', 'host'], unknownHost(fromName, hosts));
    else if (!isMap(from.backup)) at([...path, 'from', 'host'], `host '${fromName}' has no backup: section; a refresh restores its latest verified backup`);
    else if (typeof r.from.database === 'string' && Array.isArray(from.backup.databases) && !from.backup.databases.includes(r.from.database))
      at([...path, 'from', 'database'], `database '${r.from.database}' is not backed up on '${fromName}'; add it to hosts.${fromName}.backup.databases`);
  }
  if (typeof toName === 'string') {
    const to = hosts[toName];
    if (!to) at([...path, 'to', 'host'], unknownHost(toName, hosts));
    else {
      if (Array.isArray(to.tags) && to.tags.includes('production'))
        at([...path, 'to', 'host'], `host '${toName}' is tagged production: a refresh overwrites its database, so it can never be a refresh target; point refresh.${name}.to at a staging host`);
      if (!isMap(to.postgres)) at([...path, 'to', 'host'], `host '${toName}' has no postgres: section; a refresh needs a database to restore into`);
      else if (typeof r.to.database === 'string' && !(Array.isArray(to.postgres.databases) ? to.postgres.databases : []).some((d: Raw) => d?.name === r.to.database))
        at([...path, 'to', 'database'], `database '${r.to.database}' is not among hosts.${toName}.postgres.databases; add it there`);
    }
  }
  if (typeof fromName === 'string' && fromName === toName) at([...path, 'to', 'host'], 'a refresh cannot overwrite the host it comes from');
  if (typeof r.promote?.sql === 'string' && !/:accounts\b/.test(r.promote.sql))
    at([...path, 'promote', 'sql'], 'the promote SQL must use :accounts (the list of accounts), e.g. WHERE email = ANY(:accounts)');
}

function validCidr(text: string): boolean {
  if (text === 'all' || text === 'samehost' || text === 'samenet') return true;
  const [addr, bits, ...rest] = text.split('/');
  if (rest.length || !isIP(addr)) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
}
