// The provisioning planner: pure, from a host's facts and its inventory entry to ordered changes and refusals.
import type { ClusterFact, IdentityFact, OsFact, PackageFact, ProductionMarkerFact } from '../facts/types.js';
import type { Host } from '../inventory/types.js';
import { confChange, hbaChange, changedSettings, renderConf } from '../operations/files.js';
import { databaseChanges, desiredRoles, roleChanges } from '../operations/sql.js';
import { checksumsAdvice, clusterSteps, findCluster, identitySteps, markerChange, packagesChange, serviceChange } from '../operations/system.js';
import { amcheckSteps } from '../corruption/job.js';
import type { IntegrityFact } from '../facts/integrity.js';
import type { Change, PlanStep, Refusal } from '../operations/types.js';
import { clusterPaths, type ClusterState } from '../facts/cluster-state.js';
import { tlsChange } from '../operations/tls.js';
import type { TlsInput } from '../operations/tls.js';

export interface HostFactsForPlan {
  os: OsFact;
  postgres_packages: PackageFact[];
  clusters: ClusterFact[];
  identity: IdentityFact;
  production_marker: ProductionMarkerFact;
  /** Data checksums per cluster and the amcheck job's files (absent in plans made without it: nothing is planned for them). */
  integrity?: IntegrityFact;
}

/** Changes that can run now, changes previewed until the cluster exists or runs (apply plans them again), refusals. */
export interface HostPlan {
  host: string;
  changes: Change[];
  deferred: Change[];
  refusals: Refusal[];
}

/** The roles and databases of a cluster pg_createcluster has just made (initdb's superuser and its database). */
const NEW_CLUSTER = {
  roles: [{ name: 'postgres', login: true, superuser: true, createdb: true, password: '' }],
  databases: [{ name: 'postgres', owner: 'postgres' }],
};

/** Plan one host. `passwords` maps role name to its resolved secret. `created`: this apply has just created the cluster,
 *  so its roles and databases are known before it runs (they are planned to run right after the start). */
export function planHost(args: { host: Host; facts: HostFactsForPlan; state: ClusterState | null; passwords: Map<string, string>; created?: boolean; tls?: TlsInput }): HostPlan {
  const { host, facts, state, passwords } = args;
  const plan: HostPlan = { host: host.name, changes: [], deferred: [], refusals: [] };
  const add = (c: Change | undefined, deferred = false) => c && (deferred ? plan.deferred : plan.changes).push(c);
  const take = (steps: PlanStep[]) => steps.forEach((s) => (s.kind === 'change' ? add(s.change) : plan.refusals.push(s.refusal)));
  const pg = host.postgres;
  if (pg && state) {
    const paths = clusterPaths(pg);
    add(packagesChange(facts.postgres_packages, pg.version));
    const existing = findCluster(facts.clusters, pg);
    take(clusterSteps({ clusters: facts.clusters, pg, dataDirectory: { ...state.dataDirectory, path: paths.dataDirectory } }));
    if (plan.refusals.length) return plan;
    const creating = !existing;
    const online = existing?.status === 'online';
    const unknown = Object.keys(pg.settings ?? {}).filter((k) => state.settings && !state.settings.has(k));
    for (const k of unknown) plan.refusals.push({ operation: 'settings', message: `'${k}' is not a PostgreSQL ${pg.version} setting; the server would not start with it` });
    if (plan.refusals.length) return plan;
    const tls = tlsChange(pg, args.tls);
    add(tls);
    const conf = confChange(creating ? null : state.confFile, pg, paths.ironcladConf);
    add(conf, creating);
    const hba = hbaChange(creating ? '' : state.hbaFile, pg, paths.hba);
    add(hba, creating);
    if (!creating) {
      const changed = conf ? changedSettings(state.confFile, renderConf(pg)) : [];
      const needRestart = changed.filter((k) => state.settings?.get(k)?.context === 'postmaster');
      const pending = [...(state.settings?.entries() ?? [])].filter(([, s]) => s.pending_restart).map(([k]) => k);
      const reasons = [...new Set([...needRestart, ...pending])];
      add(serviceChange({ pg, online, systemd: facts.os.systemd, reload: Boolean(conf || hba || tls), restart: online && reasons.length > 0, restartReason: reasons.length ? `${reasons.join(', ')} take effect only on restart` : undefined }));
      take(identitySteps({ identity: facts.identity, pg, dataDirectory: paths.dataDirectory, systemIdentifier: state.dataDirectory.systemIdentifier }));
      if (plan.refusals.length) return plan;
    } else {
      add(serviceChange({ pg, online: false, systemd: facts.os.systemd, reload: false, restart: false }), true);
      add(identitySteps({ identity: { state: 'absent' }, pg, dataDirectory: paths.dataDirectory, systemIdentifier: null }).map((s) => (s.kind === 'change' ? s.change : undefined))[0], true);
    }
    const known = online && state.roles !== null && state.databases !== null ? { roles: state.roles, databases: state.databases } : args.created && !creating ? NEW_CLUSTER : undefined;
    const roles = desiredRoles(pg, (n) => passwords.get(n));
    for (const c of roleChanges(known?.roles ?? [], roles, pg.port)) add(c, !known);
    for (const c of databaseChanges(known?.databases ?? [], pg.databases ?? [], pg.port)) add(c, !known);
    if (facts.integrity) {
      if (!creating) add(checksumsAdvice({ host: host.name, pg, clusters: facts.integrity.clusters }), true);
      take(amcheckSteps({ host, integrity: facts.integrity, systemd: facts.os.systemd }));
      if (plan.refusals.length) return plan;
    }
  }
  add(markerChange(host.tags, facts.production_marker, host.name));
  return plan;
}
