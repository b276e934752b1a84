// Where the corruption checks keep their files on a database host: the table lives in core/host-paths.ts (facts read
// these files too); the corruption modules import it from here.
export { INTEGRITY_PATHS } from '../core/host-paths.js';
