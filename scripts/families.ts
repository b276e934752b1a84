// The command families, each in its own file under scripts/, imported only when used: a command loads its own modules,
// not every family's (Node's start-up is part of every command's time; `backup run` and a no-op `apply` are short).
import type { Family } from './cli.js';

const loaders: Record<string, () => Promise<Family>> = {
  validate: async () => (await import('./validate.js')).validateFamily,
  facts: async () => (await import('./facts.js')).factsFamily,
  plan: async () => (await import('./provision.js')).planFamily,
  apply: async () => (await import('./provision.js')).applyFamily,
  check: async () => (await import('./instances.js')).checkFamily,
  backup: async () => (await import('./backup.js')).backupFamily,
  refresh: async () => (await import('./runbook.js')).refreshFamily,
  runbook: async () => (await import('./runbook.js')).runbookFamily,
  images: async () => (await import('./images.js')).imagesFamily,
  audit: async () => (await import('./audit.js')).auditFamily,
  lab: async () => (await import('./lab.js')).labFamily,
  pitr: async () => (await import('./pitr.js')).pitrFamily,
};

/** The command names, in the order `--help` lists them. */
export const familyNames = Object.keys(loaders);

/** The family of a command name, loaded now; undefined for an unknown name. */
export async function loadFamily(name: string): Promise<Family | undefined> {
  const family = await loaders[name]?.();
  if (family && family.name !== name) throw new Error(`scripts/families.ts: '${name}' loads the family '${family.name}'`);
  return family;
}

/** Every family (for the usage text). */
export function allFamilies(): Promise<Family[]> {
  return Promise.all(familyNames.map((n) => loadFamily(n) as Promise<Family>));
}
