// The secret that keys the scrub's fakes: one per target host, made there on first use and kept there (root only, 0600),
// read into the run's memory. A fake is a keyed SHA-256 of the original (scrub.ts keyedHashSql), so a list of candidate
// emails cannot be matched to the fakes on staging by anyone who lacks the key; the same original gets the same fake on
// that host.
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import { PATHS } from '../backup/render.js';
import { tail } from '../connectors/output.js';
import type { Host } from '../inventory/types.js';

/** Where the key lives on the target host. */
export const FAKE_KEY_FILE = `${PATHS.refreshDir}/fake.key`;

/** Shell text that prints the host's key, made once from /dev/urandom (32 bytes, hex) in a root-only file (pure). */
export function fakeKeyScript(file = FAKE_KEY_FILE): string {
  const f = shq(file);
  return `umask 077 && mkdir -p ${shq(file.replace(/\/[^/]*$/, ''))} && { [ -s ${f} ] || { head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \\n' > ${f}.new && mv ${f}.new ${f}; }; } && cat ${f}`;
}

const keys = new Map<string, Promise<string>>();

/** The key of a target host (hex), read once per process. */
export function fakeKey(conn: Connector, host: Host): Promise<string> {
  let key = keys.get(host.name);
  if (!key) {
    key = conn.run(fakeKeyScript()).then((r) => {
      const hex = r.stdout.trim();
      if (r.code !== 0 || !/^[0-9a-f]{64}$/.test(hex)) throw new OperationError(`${host.name}: cannot read or make the scrub key ${FAKE_KEY_FILE} (exit ${r.code})\n${tail(r.stderr)}`);
      return hex;
    });
    key.catch(() => keys.delete(host.name));
    keys.set(host.name, key);
  }
  return key;
}

/** The key as the fakes' SQL takes it (pure): its 64-byte SHA-256 block (the key, zero-padded, XOR 0x36: HMAC's inner
 *  pad), so that the first block a fake's SHA-256 compresses is the key alone and the value starts a block of its own.
 *  Set per transaction (never in a statement that can fail, so never in an error's LINE context). */
export function keyBlock(keyHex: string): string {
  const block = Buffer.alloc(64);
  Buffer.from(keyHex, 'hex').copy(block);
  return Buffer.from(block.map((x) => x ^ 0x36)).toString('hex');
}

/** The function the fakes read the key's block with (scrub.ts keyedHashSql): in the session's own temporary schema. */
export const FAKE_PAD = 'pg_temp.ironclad_fake_pad';

/** The statements that give one transaction the key (SET LOCAL: gone at its end) and the function the fakes read it
 *  with (pure). The function is IMMUTABLE (true within one statement: the settings do not change while it runs), so
 *  PostgreSQL computes it once while planning a statement instead of decoding the block again for every row; the block
 *  is then a constant of that statement's plan, never of its text (not in an error's LINE context): it is only in the
 *  SET LOCAL statement (which a server logging every statement would log; an auto_explain with log_verbose would log
 *  the plan's constants of the UPDATE fallback too). Its body names pg_catalog's functions: nothing of the dump's is
 *  called. */
export function keyStatements(keyHex: string): string[] {
  return [
    `SET LOCAL ironclad.fake_k = '${keyBlock(keyHex)}';`,
    `CREATE OR REPLACE FUNCTION ${FAKE_PAD}(text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $ironclad$ SELECT pg_catalog.decode(pg_catalog.current_setting($1), 'hex') $ironclad$;`,
  ];
}
