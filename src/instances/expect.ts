// What a host should run, from the inventory: its postgres cluster and its declared extra_clusters.
import { shq } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import type { ExpectedCluster } from './types.js';

/** The clusters a host may run: none without `postgres:`, else its cluster (required) plus `extra_clusters` (allowed; same version unless given). */
export function expectedClusters(host: Host): ExpectedCluster[] {
  const pg = host.postgres;
  if (!pg) return [];
  return [
    { version: pg.version, cluster: pg.cluster, port: pg.port, required: true },
    ...(pg.extra_clusters ?? []).map((x) => ({ version: x.version ?? pg.version, cluster: x.cluster, port: x.port, required: false })),
  ];
}

/** census.sh arguments for these expectations: `--expect VERSION/CLUSTER:PORT` each, `--allow` for the optional ones. */
export function censusArgs(expected: ExpectedCluster[]): string[] {
  return expected.flatMap((e) => [e.required ? '--expect' : '--allow', `${e.version}/${e.cluster}:${e.port}`]);
}

/** The same arguments as one line of shell words. */
export function censusArgLine(expected: ExpectedCluster[]): string {
  return censusArgs(expected).map((a) => shq(a)).join(' ');
}
