// Semantic rules the schema cannot express: references between hosts, uniqueness, safety of refresh targets.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Problem } from './problems.js';
import { parseSchedule } from './schedule.js';
import type { Source } from './source.js';

type Raw = Record<string, any>;

/** Every rule's problems for a schema-valid inventory document. `resolvePath` maps inventory-relative paths. */
export function ruleProblems(source: Source, resolvePath: (p: string) => string): Problem[] {
  const inv = source.data as Raw;
  const hosts: Record<string, Raw> = inv.hosts ?? {};
  const out: Problem[] = [];
  const at = (path: (string | number)[], msg: string, key = false) => out.push(source.problem(path, msg, key));

  const byAddress = new Map<string, string>();
  for (const [name, host] of Object.entries(hosts)) {
    const prev = byAddress.get(host.address);
    if (prev) at(['hosts', name, 'address'], `address ${host.address} is already used by host '${prev}'; each host needs its own address`);
    else byAddress.set(host.address, name);
    hostRules(name, host, hosts, at);
  }

  const imageNames = new Set<string>();
  (inv.images ?? []).forEach((img: Raw, i: number) => {
    if (imageNames.has(img.name)) at(['images', i, 'name'], `image pair '${img.name}' is defined twice`);
    imageNames.add(img.name);
    for (const side of ['source', 'replica'] as const)
      if (!hosts[img[side].host]) at(['images', i, side, 'host'], unknownHost(img[side].host, hosts));
    if (img.source.host === img.replica.host && img.source.path === img.replica.path)
      at(['images', i, 'replica'], 'the replica is the same place as the source');
  });

  for (const [name, r] of Object.entries((inv.refresh ?? {}) as Record<string, Raw>)) {
    refreshRules(name, r, hosts, at);
    const scrubPath = resolvePath(r.scrub);
    if (!existsSync(scrubPath)) at(['refresh', name, 'scrub'], `scrub file ${scrubPath} does not exist`);
  }
  return out;
}

type At = (path: (string | number)[], msg: string, key?: boolean) => void;

function unknownHost(name: string, hosts: Record<string, Raw>): string {
  return `host '${name}' is not in this inventory (hosts: ${Object.keys(hosts).join(', ')})`;
}

function hostRules(name: string, host: Raw, hosts: Record<string, Raw>, at: At): void {
  const pg = host.postgres;
  if (pg) {
    const roles = new Set<string>(['postgres', ...(pg.roles ?? []).map((r: Raw) => r.name)]);
    const seen = new Set<string>();
    (pg.roles ?? []).forEach((r: Raw, i: number) => {
      if (seen.has(r.name)) at(['hosts', name, 'postgres', 'roles', i, 'name'], `role '${r.name}' is defined twice`);
      seen.add(r.name);
      if (r.password && r.login === false) at(['hosts', name, 'postgres', 'roles', i, 'password'], 'a role that cannot log in needs no password');
    });
    const dbs = new Set<string>();
    (pg.databases ?? []).forEach((d: Raw, i: number) => {
      if (dbs.has(d.name)) at(['hosts', name, 'postgres', 'databases', i, 'name'], `database '${d.name}' is defined twice`);
      dbs.add(d.name);
      if (!roles.has(d.owner)) at(['hosts', name, 'postgres', 'databases', i, 'owner'], `owner '${d.owner}' is not a role of this host; add it under postgres.roles`);
    });
    (pg.hba ?? []).forEach((h: Raw, i: number) => {
      const path = ['hosts', name, 'postgres', 'hba', i];
      if (h.type === 'local' && h.address) at([...path, 'address'], "a 'local' rule takes no address");
      if (h.type !== 'local' && !h.address) at(path, `a '${h.type}' rule needs an address (e.g. 10.0.0.0/24)`);
      if (h.address && !validCidr(h.address)) at([...path, 'address'], `'${h.address}' is not an address or CIDR range`);
    });
    (pg.listen ?? []).forEach((a: string, i: number) => {
      if (a !== '*' && a !== 'localhost' && !isIP(a)) at(['hosts', name, 'postgres', 'listen', i], `'${a}' is not an IP address, 'localhost' or '*'`);
    });
    for (const key of ['port', 'listen_addresses', 'data_directory', 'hba_file'])
      if (pg.settings && key in pg.settings)
        at(['hosts', name, 'postgres', 'settings', key], `'${key}' is managed by ironclad; use postgres.${key === 'listen_addresses' ? 'listen' : key === 'port' ? 'port' : 'cluster'} instead`, true);
    const ports = new Set<number>([pg.port]);
    (pg.extra_clusters ?? []).forEach((c: Raw, i: number) => {
      if (ports.has(c.port)) at(['hosts', name, 'postgres', 'extra_clusters', i, 'port'], `port ${c.port} is already used by another cluster on this host`);
      ports.add(c.port);
    });
  }
  const b = host.backup;
  if (b) {
    const path = ['hosts', name, 'backup'];
    if (!pg) at(path, 'a host with backup: needs a postgres: section (what would it back up?)', true);
    const target = hosts[b.to];
    if (!target) at([...path, 'to'], unknownHost(b.to, hosts));
    else if (!target.backup_store) at([...path, 'to'], `host '${b.to}' has no backup_store; backups need a store to go to`);
    else if (b.to === name) at([...path, 'to'], 'a host cannot be its own off-site backup store');
    const dbs = new Set((pg?.databases ?? []).map((d: Raw) => d.name));
    (b.databases as string[]).forEach((d, i) => {
      if (pg && !dbs.has(d)) at([...path, 'databases', i], `database '${d}' is not among this host's postgres.databases`);
    });
    const s = parseSchedule(b.schedule);
    if (!s.ok) at([...path, 'schedule'], s.error);
  }
}

function refreshRules(name: string, r: Raw, hosts: Record<string, Raw>, at: At): void {
  const path = ['refresh', name];
  const from = hosts[r.from.host];
  const to = hosts[r.to.host];
  if (!from) at([...path, 'from', 'host'], unknownHost(r.from.host, hosts));
  else if (!from.backup) at([...path, 'from', 'host'], `host '${r.from.host}' has no backup: section; a refresh restores its latest verified backup`);
  else if (!(from.backup.databases as string[]).includes(r.from.database))
    at([...path, 'from', 'database'], `database '${r.from.database}' is not backed up on '${r.from.host}' (backup.databases)`);
  if (!to) at([...path, 'to', 'host'], unknownHost(r.to.host, hosts));
  else {
    if ((to.tags ?? []).includes('production'))
      at([...path, 'to', 'host'], `host '${r.to.host}' is tagged production: a refresh overwrites its database, so it can never be a refresh target`);
    if (!to.postgres) at([...path, 'to', 'host'], `host '${r.to.host}' has no postgres: section`);
    else if (!(to.postgres.databases ?? []).some((d: Raw) => d.name === r.to.database))
      at([...path, 'to', 'database'], `database '${r.to.database}' is not among '${r.to.host}' postgres.databases`);
  }
  if (r.from.host === r.to.host) at([...path, 'to', 'host'], 'a refresh cannot overwrite the host it comes from');
  if (r.promote && !/:accounts\b/.test(r.promote.sql)) at([...path, 'promote', 'sql'], "the promote SQL must use :accounts (the list of accounts)");
}

function validCidr(text: string): boolean {
  if (text === 'all' || text === 'samehost' || text === 'samenet') return true;
  const [addr, bits, ...rest] = text.split('/');
  if (rest.length || !isIP(addr)) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n >= 0 && n <= (isIP(addr) === 4 ? 32 : 128);
}
