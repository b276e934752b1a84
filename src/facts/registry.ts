// Every fact by name: the one table gatherFacts, the CLI and the tests read.
import { backupJobFact } from './backup-job.js';
import { clustersFact } from './clusters.js';
import { corruptionFact } from './corruption.js';
import { diskFact } from './disk.js';
import { identityFact, productionMarkerFact } from './identity.js';
import { integrityFact } from './integrity.js';
import { jobsFact } from './jobs.js';
import { listenersFact } from './listeners.js';
import { osFact } from './os.js';
import { postgresPackagesFact } from './packages.js';
import { postgresProcessesFact } from './processes.js';
import { postgresUpdatesFact } from './updates.js';
import type { FactDef, FactName, FactValues } from './types.js';
import { clockFact } from './clock.js';
import { tlsFact } from './tls.js';

/** The definition of each fact, typed by its value. */
export const factDefs: { [K in FactName]: FactDef<FactValues[K]> } = {
  os: osFact,
  postgres_packages: postgresPackagesFact,
  clusters: clustersFact,
  postgres_processes: postgresProcessesFact,
  listeners: listenersFact,
  disk: diskFact,
  jobs: jobsFact,
  identity: identityFact,
  production_marker: productionMarkerFact,
  postgres_updates: postgresUpdatesFact,
  backup_job: backupJobFact,
  integrity: integrityFact,
  corruption: corruptionFact,
  tls: tlsFact,
  clock: clockFact,
};

/** All fact names, in report order. */
export const FACT_NAMES = Object.keys(factDefs) as FactName[];

/** True when a string names a fact. */
export function isFactName(name: string): name is FactName {
  return Object.hasOwn(factDefs, name);
}
