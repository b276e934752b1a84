// Load an inventory: YAML with positions -> JSON Schema -> semantic rules -> scrub files -> normalized Inventory.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { InvalidInput, type Problem } from './problems.js';
import { ruleProblems } from './rules.js';
import { schemaProblems } from './schema.js';
import { readSource } from './source.js';
import { didYouMean } from './suggest.js';
import type { EstateTls, Host, Inventory, RefreshSpec, SshSettings } from './types.js';

const sshDefaults: SshSettings = {
  user: 'root',
  port: 22,
  identity_file: '~/.ssh/id_ed25519',
  known_hosts: '~/.ssh/known_hosts',
  connect_timeout: 10,
  command_timeout: 3600,
};

/** Resolve a path from the inventory: ~ is the home directory, relative paths are relative to the inventory's folder. */
export function inventoryPath(dir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(dir, p);
}

/** Validate a YAML file against a schema (and, for scrub files, nothing more); problems positioned. */
export function checkFile(file: string, schema: 'scrub' | 'runbook'): { data: unknown; problems: Problem[] } {
  const { source, problems } = readSource(file);
  if (source.data === undefined) return { data: undefined, problems };
  return { data: source.data, problems: [...problems, ...schemaProblems(schema, source)] };
}

/** Every problem of an inventory file and of the scrub files it names; the inventory when there are none. */
export function validateInventory(file: string): { inventory?: Inventory; problems: Problem[] } {
  const path = resolve(file);
  const dir = dirname(path);
  const { source, problems: syntax } = readSource(path);
  if (source.data === undefined) return { problems: syntax.map((p) => (p.path === '(file)' ? { ...p, message: `${p.message}; name the inventory with -i FILE or $IRONCLAD_INVENTORY` } : p)) };
  const schema = schemaProblems('inventory', source);
  const rules = ruleProblems(source, (p) => inventoryPath(dir, p)).filter((r) => !coveredBy(r, schema));
  const all = [...syntax, ...schema, ...rules];
  const data = source.data as any;
  for (const r of Object.values(isObject(data?.refresh) ? (data.refresh as Record<string, Partial<RefreshSpec>>) : {})) {
    if (typeof r?.scrub !== 'string') continue;
    const scrub = inventoryPath(dir, r.scrub);
    if (existsSync(scrub)) all.push(...checkFile(scrub, 'scrub').problems); // a missing one is a rule problem
  }
  if (all.length) return { problems: all };
  return { inventory: normalize(path, data), problems: [] };
}

/** Load and validate, or throw InvalidInput (exit 2) listing every problem. */
export function loadInventory(file: string): Inventory {
  const { inventory, problems } = validateInventory(file);
  if (!inventory) throw new InvalidInput(problems);
  return inventory;
}

/** The inventory file the user meant: -i, else $IRONCLAD_INVENTORY, else ./inventory/inventory.yaml. */
export function inventoryFile(flag?: string): string {
  return flag ?? process.env.IRONCLAD_INVENTORY ?? 'inventory/inventory.yaml';
}

/** Hosts named by --limit (or all); an unknown name is a UserError. */
export function selectHosts(inv: Inventory, names?: string[]): Host[] {
  if (!names || names.length === 0) return inv.hosts;
  for (const n of names)
    if (!inv.hosts.some((h) => h.name === n))
      throw new UserError(`unknown host '${n}'${didYouMean(n, inv.hosts.map((h) => h.name))}`, `hosts in ${inv.file}: ${inv.hosts.map((h) => h.name).join(', ')}`);
  return inv.hosts.filter((h) => names.includes(h.name));
}

/** A rule problem at (or under) a field the schema already rejected says the same thing twice: keep the schema's. */
function coveredBy(rule: Problem, schema: Problem[]): boolean {
  return schema.some((s) => s.file === rule.file && (rule.path === s.path || rule.path.startsWith(s.path + '.') || rule.path.startsWith(s.path + '[')));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function normalize(file: string, data: any): Inventory {
  const dir = dirname(file);
  const defaults = data.defaults ?? {};
  const pgVersion = defaults.postgres?.version ?? 15;
  const hosts: Host[] = Object.entries(data.hosts as Record<string, any>).map(([name, h]) => {
    const ssh: SshSettings = { ...sshDefaults, ...(defaults.ssh ?? {}), ...(h.ssh ?? {}) };
    ssh.identity_file = inventoryPath(dir, ssh.identity_file);
    ssh.known_hosts = inventoryPath(dir, ssh.known_hosts);
    return {
      name,
      address: h.address,
      tags: h.tags ?? [],
      ssh,
      postgres: h.postgres ? { version: pgVersion, ...h.postgres, tls: { enabled: h.postgres.tls?.enabled ?? true, names: h.postgres.tls?.names ?? [] } } : undefined,
      backup: h.backup ? { format: 'custom', ...h.backup, retention: { weekly: 0, monthly: 0, ...h.backup.retention } } : undefined,
      backup_store: h.backup_store,
      pitr: h.pitr,
    };
  });
  const refresh: Record<string, RefreshSpec> = {};
  for (const [name, r] of Object.entries((data.refresh ?? {}) as Record<string, RefreshSpec>))
    refresh[name] = { ...r, scrub: inventoryPath(dir, r.scrub) };
  return { file, dir, hosts, images: data.images ?? [], refresh, lab: data.lab, tls: estateTls(data.tls, dir) };
}

/** The top-level `tls` with its defaults: a CA ironclad makes once in .ironclad/ca beside the inventory, unless named. */
export function estateTls(raw: any, dir: string): EstateTls {
  const ca: EstateTls['ca'] = raw?.ca?.cert
    ? { kind: 'provided', cert: inventoryPath(dir, raw.ca.cert.file), key: inventoryPath(dir, raw.ca.key.file) }
    : { kind: 'managed', dir: inventoryPath(dir, raw?.ca?.dir ?? '.ironclad/ca') };
  return { ca, days: raw?.days ?? 365, renew_before_days: raw?.renew_before_days ?? 30 };
}
