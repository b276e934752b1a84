// The facts API in one import: gather, the fact table, the typed values, the files ironclad pins on hosts.

/** Gathering facts on a host (one round trip) and parsing a recorded output. */
export { gatherFacts, gatherFactsWith, parseFactOutput, factScript, FACTS_TIMEOUT_MS, ABSENT_CODE } from './gather.js';
/** Facts that take arguments. */
export { clusterStateFact, clusterPaths, type ClusterState } from './cluster-state.js';
/** The fact table and its names. */
export { factDefs, FACT_NAMES, isFactName } from './registry.js';
/** Files ironclad writes on hosts and facts read back. */
export { IDENTITY_FILE, PRODUCTION_MARKER_FILE } from './identity.js';
/** The many-host report, its JSON shape and exit code. */
export { factsReport, factsExitCode, type FactsReport, type HostFactsReport, type FactsOutcome } from './report.js';
/** Human rendering. */
export { renderReport, renderHost } from './render.js';
/** The typed fact values. */
export type * from './types.js';
