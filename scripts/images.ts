// `ironclad images compare NAME | SRC DST`: production images against their backup, each side scanned where it lives.
import { localConnector } from '../src/connectors/local.js';
import { UserError } from '../src/core/errors.js';
import type { Connector } from '../src/connectors/types.js';
import type { ConnectFn } from '../src/executor/pool.js';
import { compareImages } from '../src/images/compare.js';
import { needsInventory, pairLocations, parseTarget, describeLocation, type CompareTarget, type Location } from '../src/images/locations.js';
import { parseHash, parseMode } from '../src/images/options.js';
import { renderResult } from '../src/images/render.js';
import type { Side } from '../src/images/side.js';
import { compareExitCode } from '../src/images/summary.js';
import { saveRecord, toRecord, type ImageRecord } from '../src/images/record.js';
import { printJson, type Family, type GlobalFlags } from './cli.js';

const USAGE = 'images compare NAME | SRC DST [--report FILE] [--rehash | --sample PERCENT [--seed N]] [--hash sha256|fast] [--cache-dir DIR]';

/** What is compared: a name for the report and both locations. */
interface Resolved {
  name: string;
  source: Location;
  replica: Location;
}

type OpenConnector = (location: Location) => Promise<Connector>;

const named = (source: Location, replica: Location): Resolved => ({ name: `${describeLocation(source)} -> ${describeLocation(replica)}`, source, replica });

/**
 * Run `fn` with the resolved target and a way to reach each location: this machine for a local path, the pool's
 * SSH connection for an inventory host. The inventory and SSH modules are loaded only when a host is named, so
 * that comparing two local paths starts fast and needs no inventory. Unknown names fail before any connection.
 */
async function withTarget<T>(target: CompareTarget, flags: GlobalFlags, connect: ConnectFn | undefined, fn: (resolved: Resolved, open: OpenConnector) => Promise<T>): Promise<T> {
  if (target.kind === 'paths' && !needsInventory(target)) return fn(named(target.source, target.replica), async () => localConnector());
  const [{ inventoryFile, loadInventory, selectHosts }, { withPool }] = await Promise.all([import('../src/inventory/load.js'), import('../src/executor/pool.js')]);
  const inv = loadInventory(inventoryFile(flags.inventory));
  const resolved = target.kind === 'pair' ? { name: target.name, ...pairLocations(inv, target.name) } : named(target.source, target.replica);
  const hostOf = (loc: Location) => (loc.kind === 'host' ? selectHosts(inv, [loc.host])[0] : undefined);
  [resolved.source, resolved.replica].forEach(hostOf);
  return withPool((pool) => fn(resolved, async (loc) => {
    const host = hostOf(loc);
    return host ? pool.get(host) : localConnector();
  }), connect);
}

/** Keep the result of a named pair's comparison on its replica host, for `audit`; a failure to write is a warning. */
async function record(replica: Connector, rec: ImageRecord): Promise<void> {
  try {
    await saveRecord(replica, rec);
  } catch (e) {
    process.stderr.write(`ironclad: warning: ${(e as Error).message}\n`);
  }
}

/** The family with a given way to connect to hosts (SSH by default; tests pass another). */
export function createImagesFamily(connect?: ConnectFn): Family {
  return {
    name: 'images',
    summary: `${USAGE}: are the backup's images the production's, byte for byte`,
    options: {
      report: { type: 'string' },
      rehash: { type: 'boolean' },
      sample: { type: 'string' },
      seed: { type: 'string' },
      hash: { type: 'string' },
      'cache-dir': { type: 'string' },
    },
    async run({ words, options, flags }) {
      const [sub, ...rest] = words;
      if (sub !== 'compare') throw new UserError(`usage: ironclad ${USAGE}${sub ? ` (unknown subcommand '${sub}')` : ''}`);
      const target = parseTarget(rest);
      const mode = parseMode(options);
      const hash = parseHash(options.hash);
      const reportFile = typeof options.report === 'string' ? options.report : undefined;
      const cacheDir = typeof options['cache-dir'] === 'string' ? options['cache-dir'] : undefined;
      return withTarget(target, flags, connect, async ({ name, source, replica }, open) => {
        const side = async (role: Side['role'], location: Location): Promise<Side> => ({ role, location, connector: await open(location), cacheDir });
        const [src, dst] = await Promise.all([side('source', source), side('replica', replica)]);
        const result = await compareImages({
          name,
          source: src,
          replica: dst,
          hash,
          mode,
          reportFile,
          listLimit: flags.json ? Infinity : 10,
          progress: process.stderr.isTTY ? process.stderr : undefined,
        });
        if (target.kind === 'pair') await record(dst.connector, toRecord(result, new Date()));
        if (flags.json) printJson(result);
        else process.stdout.write(renderResult(result));
        return compareExitCode(result);
      });
    },
  };
}

/** `ironclad images`, over SSH. */
export const imagesFamily: Family = createImagesFamily();
