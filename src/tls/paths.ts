// Where ironclad keeps a database host's TLS files: one certificate and key per host, shared by its clusters.
import { HOST_PATHS } from '../core/host-paths.js';

/** The folder on a database host (root's, 0755); the key inside is postgres's, 0600. */
export const TLS_DIR = HOST_PATHS.tls;

/** The files in it: the server's certificate and key, and the estate's CA certificate (for local clients). */
export const TLS_FILES = {
  cert: `${TLS_DIR}/server.crt`,
  key: `${TLS_DIR}/server.key`,
  ca: `${TLS_DIR}/ca.crt`,
} as const;
