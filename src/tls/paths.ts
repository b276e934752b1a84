// Where ironclad keeps a database host's TLS files: one certificate and key per host, shared by its clusters. The table
// lives in core/host-paths.ts (the tls fact reads them too).
import { HOST_PATHS, TLS_FILES } from '../core/host-paths.js';

/** The folder on a database host (root's, 0755); the key inside is postgres's, 0600. */
export const TLS_DIR = HOST_PATHS.tls;

export { TLS_FILES };
