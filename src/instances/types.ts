// The single-instance census as the program sees it: what a host should run and what census.sh found there.

/** A cluster the inventory says may (and must) run on a host. */
export interface ExpectedCluster {
  version: number;
  cluster: string;
  port: number;
  /** The host's own cluster must run; extra_clusters only may. */
  required: boolean;
}

/** What the census concluded a host expects: the data directory and identities it resolved on the host. */
export interface CensusExpectation {
  /** VERSION/CLUSTER. */
  cluster: string;
  port: number;
  data_directory: string;
  /** Read from the data directory's pg_control now; null when unreadable or absent. */
  system_identifier: string | null;
  /** From /var/lib/ironclad/identity.json; null when the cluster has no pin yet. */
  pinned_identifier: string | null;
  pinned_at: string | null;
  /** False for extra_clusters: allowed to run, not required to. */
  required: boolean;
}

/** One PostgreSQL instance found on a host. */
export interface CensusInstance {
  port: number | null;
  data_directory: string | null;
  pid: number | null;
  /** A 64-bit number: kept as a string, exact. */
  system_identifier: string | null;
  /** The expected cluster (VERSION/CLUSTER) this instance is, null for one nobody expects. */
  expected_as: string | null;
  /** The postgresql-common cluster running from the same data directory, if any. */
  cluster: string | null;
  /** The container it runs in, in words; null on the host itself. */
  container: string | null;
  /** Which sources saw it: process, tcp, unix, pg_lsclusters, pidfile, docker, podman. */
  sources: string[];
  /** Set for a cluster made by `ironclad pitr restore` whose pin (/var/lib/ironclad/restored/CLUSTER.json) describes
   *  it: the host restored from, the target (a time, or 'latest'), when it was pinned. Never an expected cluster. */
  restore_of?: { host: string; target: string; pinned_at: string };
}

/** Everything one run of census.sh said about a host. */
export interface CensusReport {
  expected: CensusExpectation[];
  instances: CensusInstance[];
  /** Each in words a person understands at 3 a.m.; empty when the host is clean. */
  problems: string[];
  /** Sources that could not be asked; never a problem by themselves. */
  notes: string[];
}

/** The census of one host, as `check instances` reports it. */
export interface HostCensus extends CensusReport {
  host: string;
  ok: boolean;
  durationMs: number;
}
