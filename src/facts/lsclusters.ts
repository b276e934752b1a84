// lsclusters.sh, the one reader of postgresql-common's clusters on a host (pg_lsclusters without Perl), as text for the
// fact commands and the census, and the pure parser of what it prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/paths.js';
import { toInt } from './text.js';
import type { ClusterFact } from './types.js';

/** Path of lsclusters.sh in the package (shipped as source, like census.sh). */
export function lsclustersScriptPath(): string {
  return join(packageRoot(), 'src', 'facts', 'lsclusters.sh');
}

let cached: string | undefined;

/** The text of lsclusters.sh without its comment lines (shellcheck's kept): defines `ic_lsclusters [CONF_ROOT [PROC [BIN_ROOT]]]` and its
 *  helpers, runs nothing. */
export function lsclustersShell(): string {
  return (cached ??= readFileSync(lsclustersScriptPath(), 'utf8').replace(/^[ \t]*#(?! shellcheck).*\n/gm, ''));
}

const field = (v: string | undefined): string | null => (v === undefined || v === '' || v === '-' ? null : v);

/** Pure: `ic_lsclusters` lines (VERSION CLUSTER PORT STATUS FLAGS OWNER DATADIR LOG CONFIGDIR START, '-' unknown). */
export function parseLsclusters(text: string): ClusterFact[] {
  return text.split('\n').flatMap((line): ClusterFact[] => {
    const f = line.replace(/\r$/, '').split('\t');
    if (f.length !== 10 || !/^\d+(\.\d+)?$/.test(f[0]) || !field(f[1]) || (f[3] !== 'online' && f[3] !== 'down')) return [];
    return [
      {
        version: Number(f[0]),
        cluster: f[1],
        port: toInt(field(f[2])),
        status: f[3],
        flags: (field(f[4]) ?? '').split(',').filter(Boolean),
        owner: field(f[5]),
        data_directory: field(f[6]),
        log_file: field(f[7]),
        config_directory: field(f[8]),
        start: field(f[9]),
      },
    ];
  });
}
