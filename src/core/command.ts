// Commands are data: operations produce them, only the executor runs them through a connector.
import { psqlAs } from './psql.js';
import { shq } from './quote.js';
import { mask } from './secrets.js';

/** A unit of remote work. `sql` runs as the postgres OS user through psql (core/psql.ts: statements on stdin, never in
 *  argv; the database, default postgres, in PGDATABASE, never parsed as connection options). */
export type Command =
  | { kind: 'sh'; script: string; stdin?: string }
  | { kind: 'upload'; path: string; content: string; mode: string; owner?: string; as?: 'postgres' }
  | { kind: 'sql'; sql: string; port: number; database?: string };

/** The shell text that performs a command, and what it reads on stdin. Uploads are handled by the executor. */
export function toShell(cmd: Command): { script: string; stdin?: string } {
  switch (cmd.kind) {
    case 'sh':
      return { script: cmd.script, stdin: cmd.stdin };
    case 'sql':
      return { script: psqlAs('postgres', { database: cmd.database ?? 'postgres', port: cmd.port, format: 'tab' }), stdin: cmd.sql };
    case 'upload': {
      // a file in a folder the account owns (a cluster's configuration) is written by that account, never by root: the
      // account could have made the folder, or the temp name, a link, and root's write would land anywhere
      if (cmd.as)
        return { script: `runuser -u ${cmd.as} -- sh -c 'umask 077; t=$(mktemp "$1.XXXXXX") && cat > "$t" && chmod "$2" "$t" && mv -f "$t" "$1"' sh ${shq(cmd.path)} ${shq(cmd.mode)}`, stdin: cmd.content };
      const owner = cmd.owner ? ` && chown ${shq(cmd.owner)} "$t"` : '';
      return {
        script: `t=$(mktemp ${shq(cmd.path)}.XXXXXX) && cat > "$t" && chmod ${cmd.mode} "$t"${owner} && mv -f "$t" ${shq(cmd.path)}`,
        stdin: cmd.content,
      };
    }
  }
}

/** One line saying what a command does, secrets masked: for plans, logs and errors. */
export function describeCommand(cmd: Command): string {
  switch (cmd.kind) {
    case 'sh':
      return mask(cmd.script);
    case 'sql':
      return mask(`psql -p ${cmd.port} -d ${cmd.database ?? 'postgres'}: ${cmd.sql.trim().replace(/\s+/g, ' ')}`);
    case 'upload':
      return mask(`write ${cmd.path} (mode ${cmd.mode}${cmd.owner ? `, owner ${cmd.owner}` : ''}${cmd.as ? `, as ${cmd.as}` : ''})`);
  }
}
