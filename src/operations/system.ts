// Host-level operations: Postgres packages, the cluster itself, the service, identity pinning, the production marker.
import { STATE_DIR } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import type { ClusterFact, IdentityFact, PackageFact, ProductionMarkerFact } from '../facts/types.js';
import type { ClusterChecksums } from '../facts/integrity.js';
import { checksumsDowntime } from './estimate.js';
import { IDENTITY_FILE, PRODUCTION_MARKER_FILE } from '../facts/identity.js';
import type { PostgresSpec } from '../inventory/types.js';
import { clusterPaths } from '../facts/cluster-state.js';
import type { Change, PlanStep } from './types.js';

/** Install the major version's packages when absent; the default `main` cluster is never created behind our back. */
export function packagesChange(packages: PackageFact[], version: number): Change | undefined {
  const wanted = [`postgresql-${version}`, `postgresql-client-${version}`];
  const missing = wanted.filter((n) => !packages.some((p) => p.name === n && p.installed));
  if (!missing.length) return undefined;
  const apt = 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold';
  return {
    operation: 'packages',
    description: `install ${missing.join(', ')} (no default cluster: ironclad creates the inventory's own)`,
    commands: [
      {
        kind: 'sh',
        script: [
          `dpkg-query -W -f='\${Status}' postgresql-common 2>/dev/null | grep -q 'ok installed' || ${apt} postgresql-common`,
          `pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false`,
          `${apt} ${wanted.join(' ')}`,
        ].join(' && '),
      },
    ],
  };
}

/** Cluster as known to postgresql-common, if any. */
export function findCluster(clusters: ClusterFact[], pg: PostgresSpec): ClusterFact | undefined {
  return clusters.find((c) => c.version === pg.version && c.cluster === pg.cluster);
}

/** Create the cluster when absent; refuse when its data directory already holds something or its port is taken. */
export function clusterSteps(args: {
  clusters: ClusterFact[];
  pg: PostgresSpec;
  dataDirectory: { exists: boolean; entries: number; pgVersion: string | null; systemIdentifier: string | null; path: string };
}): PlanStep[] {
  const { clusters, pg, dataDirectory: dd } = args;
  const existing = findCluster(clusters, pg);
  const steps: PlanStep[] = [];
  if (existing) {
    if (existing.port !== null && existing.port !== pg.port)
      steps.push({ kind: 'refusal', refusal: { operation: 'cluster', message: `cluster ${pg.version}/${pg.cluster} runs on port ${existing.port}, the inventory says ${pg.port}; moving a live cluster is not automatic: change the inventory or move it by hand` } });
    return steps;
  }
  if (dd.exists && dd.entries > 0)
    return [{ kind: 'refusal', refusal: { operation: 'cluster', message: `${dd.path} already holds ${dd.pgVersion ? `a PostgreSQL ${dd.pgVersion} data directory` : `${dd.entries} files`}${dd.systemIdentifier ? ` (system identifier ${dd.systemIdentifier})` : ''} that no cluster configuration names: refusing to initialize over it. Move it away or register it, then run apply again` } }];
  const taken = clusters.find((c) => c.port === pg.port);
  if (taken)
    return [{ kind: 'refusal', refusal: { operation: 'cluster', message: `port ${pg.port} is already used by cluster ${taken.version}/${taken.cluster} (${taken.data_directory}); refusing to create ${pg.version}/${pg.cluster} beside it` } }];
  steps.push({
    kind: 'change',
    change: {
      operation: 'cluster',
      description: `create cluster ${pg.version}/${pg.cluster} on port ${pg.port} (${dd.path}), with data checksums`,
      // initdb writes ~1,000 files and fsyncs each one; instead one syncfs of the data directory's filesystem makes
      // them durable at once (what initdb --sync-method=syncfs does from PostgreSQL 17 on): several times quicker.
      // Data checksums from the first initdb: a damaged page is an error naming its block, not silently wrong rows
      commands: [{ kind: 'sh', script: `pg_createcluster --port ${pg.port} --encoding UTF8 --locale C.UTF-8 --start-conf auto ${pg.version} ${shq(pg.cluster)} -- --data-checksums --no-sync && sync -f ${shq(dd.path)}` }],
    },
  });
  return steps;
}

/** Start a cluster where systemd does not run. pg_ctlcluster runs `pg_ctl start -w`, which returns once the server
 *  accepts connections, then probes for 2 s more in fixed 0.5 s sleeps; this runs the same pg_ctl with the same options
 *  (the cluster's postgresql.conf, its log file, a clean environment, its own session) and shows the log when the
 *  server does not come up. A cluster with pg_ctl options or an environment of its own goes through pg_ctlcluster. */
export function startScript(pg: PostgresSpec): string {
  const p = clusterPaths(pg);
  const own = `grep -q '^[[:space:]]*[^#[:space:]]' "$c/environment" 2>/dev/null || grep -q "^[[:space:]]*pg_ctl_options[[:space:]]*=[[:space:]]*'[^']" "$c/pg_ctl.conf" 2>/dev/null`;
  const pgCtl = `exec env -i PG_OOM_ADJUST_FILE=/proc/self/oom_score_adj setsid --wait ${p.bin}/pg_ctl start -w -t 60 -s -D ${shq(p.dataDirectory)} -l "$0" -o "-c config_file=$1/postgresql.conf" < /dev/null`;
  return [
    `c=${shq(p.confDir)}`,
    `if ${own}; then exec pg_ctlcluster --skip-systemctl-redirect ${pg.version} ${shq(pg.cluster)} start; fi`,
    `log=/var/log/postgresql/postgresql-${pg.version}-${pg.cluster}.log; if [ -L "$c/log" ]; then log=$(readlink "$c/log"); fi`,
    '[ -d /var/run/postgresql ] || install -d -m 2775 -o postgres -g postgres /var/run/postgresql',
    `cd / && su postgres -s /bin/sh -c ${shq(pgCtl)} "$log" "$c" || { rc=$?; echo "the server did not start; the end of $log:" >&2; runuser -u postgres -- tail -n 6 "$log" >&2; exit $rc; }`, // (as postgres: the log is its own, maybe a link)
  ].join('\n');
}

/** Start, reload or restart the server, whichever the other changes need (with systemd when it runs). */
export function serviceChange(args: { pg: PostgresSpec; online: boolean; systemd: boolean; reload: boolean; restart: boolean; restartReason?: string }): Change | undefined {
  const { pg, online, systemd } = args;
  const unit = `postgresql@${pg.version}-${pg.cluster}`;
  const ctl = (action: string) =>
    systemd ? `systemctl ${action} ${unit}` : `pg_ctlcluster --skip-systemctl-redirect ${pg.version} ${shq(pg.cluster)} ${action}`;
  if (!online)
    return { operation: 'service', description: `start ${pg.version}/${pg.cluster}`, commands: [{ kind: 'sh', script: systemd ? `systemctl enable --now ${unit}` : startScript(pg) }] };
  if (args.restart)
    return { operation: 'service', description: `restart ${pg.version}/${pg.cluster}: ${args.restartReason ?? 'a setting needs it'}`, restart: true, commands: [{ kind: 'sh', script: ctl('restart') }], unconfirmed: args.reload ? [{ kind: 'sh', script: ctl('reload') }] : [] };
  if (args.reload) return { operation: 'service', description: `reload ${pg.version}/${pg.cluster}`, commands: [{ kind: 'sh', script: ctl('reload') }] };
  return undefined;
}

/** Pin the cluster's identity (system identifier, data directory, port) on first sight; refuse when it changed. */
export function identitySteps(args: { identity: IdentityFact; pg: PostgresSpec; dataDirectory: string; systemIdentifier: string | null }): PlanStep[] {
  const { identity, pg, dataDirectory, systemIdentifier } = args;
  const pinned = identity.state === 'present' ? identity.identities.find((i) => i.cluster === pg.cluster && i.version === pg.version) : undefined;
  if (pinned && systemIdentifier && pinned.system_identifier !== systemIdentifier)
    return [{ kind: 'refusal', refusal: { operation: 'identity', message: `cluster ${pg.version}/${pg.cluster} has system identifier ${systemIdentifier}, but ${pinned.system_identifier} was pinned on ${pinned.pinned_at}: it was re-initialized (probably empty). Find out why before anything else; after checking, remove its entry from ${IDENTITY_FILE}` } }];
  if (pinned && pinned.port === pg.port && pinned.data_directory === dataDirectory) return [];
  const format = JSON.stringify([{ cluster: pg.cluster, version: pg.version, port: pg.port, data_directory: dataDirectory, system_identifier: '%s', pinned_at: '%s' }]) + '\\n';
  return [{
    kind: 'change',
    change: {
      operation: 'identity',
      description: `pin the identity of ${pg.version}/${pg.cluster} (system identifier, ${dataDirectory}, port ${pg.port}) in ${IDENTITY_FILE}`,
      commands: [{
        kind: 'sh',
        script: [
          `sid=$(LC_ALL=C /usr/lib/postgresql/${pg.version}/bin/pg_controldata ${shq(dataDirectory)} | sed -n 's/^Database system identifier: *//p')`,
          '[ -n "$sid" ]',
          `mkdir -p ${STATE_DIR}`,
          `printf ${shq(format)} "$sid" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > ${IDENTITY_FILE}.tmp`,
          `mv ${IDENTITY_FILE}.tmp ${IDENTITY_FILE}`,
        ].join(' && '),
      }],
    },
  }];
}

/** Production hosts carry a marker that destructive runbooks check on the host itself; it is never removed automatically. */
export function markerChange(tags: string[], marker: ProductionMarkerFact, host: string): Change | undefined {
  const production = tags.includes('production');
  if (production && !marker.present)
    return { operation: 'marker', description: `mark ${host} as production (${PRODUCTION_MARKER_FILE}): refreshes and restores refuse to write here`, commands: [{ kind: 'sh', script: `mkdir -p ${STATE_DIR} && printf '%s\\n' ${shq(`production host ${host}, marked by ironclad`)} > ${PRODUCTION_MARKER_FILE}` }] };
  return undefined;
}

/** A cluster without data checksums: apply never enables them (every page is rewritten with the cluster stopped), so the
 *  plan says so, with the downtime to expect and the runbook that does it behind a typed confirmation. */
export function checksumsAdvice(args: { host: string; pg: PostgresSpec; clusters: ClusterChecksums[] }): Change | undefined {
  const { host, pg } = args;
  const c = args.clusters.find((x) => x.version === pg.version && x.cluster === pg.cluster);
  if (!c || c.checksums !== 'off') return undefined;
  return {
    operation: 'checksums',
    description: `data checksums are OFF on ${pg.version}/${pg.cluster}: a damaged page is read as good data. apply does not enable them: ` +
      `the cluster must be stopped while every page is rewritten (${checksumsDowntime(c.data_bytes, null)}; the runbook measures the disk before it asks). ` +
      `When the downtime is acceptable: ironclad runbook run runbooks/enable-checksums.yaml --set host=${host}`,
    commands: [],
  };
}
