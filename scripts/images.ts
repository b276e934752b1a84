// `ironclad images compare|repair NAME | SRC DST`: production images against their backup, each side scanned where it
// lives; repair copies what the backup lacks or holds wrong, from a healthy source.
import { fastLocalConnector as localConnector } from '../src/images/local-run.js';
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
import type { SshTarget } from '../src/images/repair-script.js';
import type { ImagePair } from '../src/inventory/types.js';
import { printJson, type Family, type GlobalFlags, type Invocation } from './cli.js';

// repair and check are loaded when asked for: a local compare starts sooner without them (every 10 ms shows there)
const repairModules = () => Promise.all([import('../src/core/confirm.js'), import('../src/images/render-repair.js'), import('../src/images/repair-plan.js'), import('../src/images/repair-transfer.js'), import('../src/images/repair.js')]);
const checkModules = () => Promise.all([import('../src/images/check-spec.js'), import('../src/images/check.js')]);

const USAGE =
  'images compare NAME | SRC DST [--report FILE] [--rehash | --sample PERCENT [--seed N]] [--hash crypto|sha256|blake3|fast] [--cache-dir DIR]\n' +
  '       images repair NAME | SRC DST [--yes] [--dry-run] [--only PATH]... [--via auto|pull|controller] [--rehash] [--cache-dir DIR]\n' +
  '       images check NAME [--days N] [--budget SIZE] [--runs-per-day N]   (the routine check: a slice a run, coverage)';

/** What is compared: a name for the report and both locations. */
interface Resolved {
  name: string;
  source: Location;
  replica: Location;
}

type OpenConnector = (location: Location) => Promise<Connector>;
type AddressOf = (location: Location) => SshTarget | undefined;

const named = (source: Location, replica: Location): Resolved => ({ name: `${describeLocation(source)} -> ${describeLocation(replica)}`, source, replica });

/**
 * Run `fn` with the resolved target and a way to reach each location: this machine for a local path, the pool's
 * SSH connection for an inventory host. The inventory and SSH modules are loaded only when a host is named, so
 * that comparing two local paths starts fast and needs no inventory. Unknown names fail before any connection.
 */
async function withTarget<T>(target: CompareTarget, flags: GlobalFlags, connect: ConnectFn | undefined, fn: (resolved: Resolved, open: OpenConnector, addressOf: AddressOf, pair?: ImagePair) => Promise<T>): Promise<T> {
  if (target.kind === 'paths' && !needsInventory(target)) return fn(named(target.source, target.replica), async () => localConnector(), () => undefined);
  const [{ inventoryFile, loadInventory, selectHosts }, { withPool }] = await Promise.all([import('../src/inventory/load.js'), import('../src/executor/pool.js')]);
  const inv = loadInventory(inventoryFile(flags.inventory));
  const resolved = target.kind === 'pair' ? { name: target.name, ...pairLocations(inv, target.name) } : named(target.source, target.replica);
  const hostOf = (loc: Location) => (loc.kind === 'host' ? selectHosts(inv, [loc.host])[0] : undefined);
  [resolved.source, resolved.replica].forEach(hostOf);
  const { pullIdentity } = await import('../src/images/check-key-steps.js');
  const identity = pullIdentity(inv, resolved.source, resolved.replica); // a checked pair's key, for a pulled repair
  const addressOf: AddressOf = (loc) => {
    const host = hostOf(loc);
    return host && { user: host.ssh.user, address: host.address, port: host.ssh.port, ...(identity && describeLocation(loc) === describeLocation(resolved.source) ? { identity } : {}) };
  };
  return withPool((pool) => fn(resolved, async (loc) => {
    const host = hostOf(loc);
    return host ? pool.get(host) : localConnector();
  }, addressOf, target.kind === 'pair' ? inv.images.find((p) => p.name === target.name) : undefined), connect);
}

/** Keep the result of a named pair's comparison on its replica host, for `audit`; a failure to write is a warning. */
async function record(replica: Connector, rec: ImageRecord): Promise<void> {
  try {
    await saveRecord(replica, rec);
  } catch (e) {
    process.stderr.write(`ironclad: warning: ${(e as Error).message}\n`);
  }
}

/** `images repair`: the plan, a confirmation, the copies; the report (or --json document) and its exit code. */
async function runRepair({ words, options, flags }: Invocation, connect: ConnectFn | undefined): Promise<number> {
  const [{ confirm }, { renderRepairPlan, renderRepairResult }, { repairExitCode }, { parseVia }, { repairImages }] = await repairModules();
  const target = parseTarget(words);
  const opts = { mode: parseMode(options), hash: parseHash(options.hash), via: parseVia(options.via), only: options.only as unknown as string[] | undefined };
  const cacheDir = typeof options['cache-dir'] === 'string' ? options['cache-dir'] : undefined;
  const progress = process.stderr.isTTY && !flags.json ? process.stderr : undefined;
  return withTarget(target, flags, connect, async ({ name, source, replica }, open, addressOf) => {
    const side = async (role: Side['role'], location: Location): Promise<Side> => ({ role, location, connector: await open(location), cacheDir });
    const [src, dst] = await Promise.all([side('source', source), side('replica', replica)]);
    const result = await repairImages({
      name,
      source: src,
      replica: dst,
      ...opts,
      pull: addressOf(source),
      dryRun: Boolean(options['dry-run']),
      progress,
      async confirm(plan) {
        if (!flags.json || (!flags.yes && process.stdin.isTTY)) process.stderr.write(renderRepairPlan(plan));
        if (!flags.yes && !process.stdin.isTTY) process.stderr.write('stdin is not a terminal: refusing without --yes\n');
        return confirm(`Copy into ${describeLocation(replica)}?`, { yes: flags.yes });
      },
    });
    if (flags.json) printJson(result);
    else process.stdout.write(result.dry_run ? renderRepairPlan(result) : renderRepairResult(result));
    return repairExitCode(result);
  });
}

/** `images check NAME`: one run of the pair's routine check; its record (with coverage) kept for `audit`. */
async function runImageCheck({ words, options, flags }: Invocation, connect: ConnectFn | undefined): Promise<number> {
  const [{ alertCheck, checkSpec, renderCheck }, { hostCoverageStore, pruneQuarantine, runCheck }] = await checkModules();
  if (words.length !== 1) throw new UserError(`usage: ironclad images check NAME${words.length ? ` (got ${words.length} arguments)` : ''}`, 'NAME: an images pair of the inventory');
  const hash = parseHash(options.hash);
  const cacheDir = typeof options['cache-dir'] === 'string' ? options['cache-dir'] : undefined;
  return withTarget({ kind: 'pair', name: words[0] }, flags, connect, async ({ name, source, replica }, open, _addressOf, pair) => {
    const spec = checkSpec(pair?.check, options);
    const [src, dst] = await Promise.all([open(source), open(replica)]);
    const replicaSide: Side = { role: 'replica', location: replica, connector: dst, cacheDir };
    const result = await runCheck({
      name,
      source: { role: 'source', location: source, connector: src, cacheDir },
      replica: replicaSide,
      hash,
      spec,
      store: hostCoverageStore(dst, name),
      progress: process.stderr.isTTY && !flags.json ? process.stderr : undefined,
    });
    await record(dst, { ...toRecord(result.compare, new Date()), coverage: result.coverage });
    const removed = await pruneQuarantine(replicaSide, pair?.check?.quarantine_days ?? 30); // by age, never by a repair
    const alert = pair?.check?.alert;
    const alertFailed = !result.ok && alert ? await alertCheck(alert.command, name, renderResult(result.compare) + renderCheck(result)) : undefined;
    if (alertFailed) process.stderr.write(`ironclad: warning: ${alertFailed}\n`);
    if (flags.json) printJson({ ...result.compare, coverage: result.coverage, slice: result.verified, slices: result.plan.slices, quarantine_removed: removed });
    else process.stdout.write(renderResult(result.compare) + renderCheck(result) + removed.map((r) => `  quarantine ${r} removed (older than its days)\n`).join(''));
    return result.ok ? 0 : 3;
  });
}

/** The family with a given way to connect to hosts (SSH by default; tests pass another). */
export function createImagesFamily(connect?: ConnectFn): Family {
  return {
    name: 'images',
    summary: 'images compare|repair NAME | SRC DST, images check NAME: is the backup of the images the production\'s byte for byte; repair it from a healthy source (never spreading rot); check it routinely, with coverage',
    options: {
      report: { type: 'string' },
      rehash: { type: 'boolean' },
      sample: { type: 'string' },
      seed: { type: 'string' },
      hash: { type: 'string' },
      'cache-dir': { type: 'string' },
      only: { type: 'string', multiple: true },
      via: { type: 'string' },
      'dry-run': { type: 'boolean' },
      days: { type: 'string' },
      budget: { type: 'string' },
      'runs-per-day': { type: 'string' },
    },
    async run({ words, options, flags }) {
      const [sub, ...rest] = words;
      if (sub === 'repair') return runRepair({ words: rest, options, flags }, connect);
      if (sub === 'check') return runImageCheck({ words: rest, options, flags }, connect);
      if (sub !== 'compare') throw new UserError(`usage: ironclad ${USAGE}${sub ? ` (unknown subcommand '${sub}')` : ''}`);
      const target = parseTarget(rest);
      const mode = parseMode(options);
      const hash = parseHash(options.hash);
      const reportFile = typeof options.report === 'string' ? options.report : undefined;
      const cacheDir = typeof options['cache-dir'] === 'string' ? options['cache-dir'] : undefined;
      return withTarget(target, flags, connect, async ({ name, source, replica }, open, _addressOf, pair) => {
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
          progress: process.stderr.isTTY && !flags.json ? process.stderr : undefined,
        });
        // a pair's coverage (kept by `images check`) goes with the result and into the record audit reads
        const coverage = pair && (await (await import('../src/images/check.js')).storedCoverage(dst.connector, pair));
        if (pair) await record(dst.connector, { ...toRecord(result, new Date()), ...(coverage ? { coverage } : {}) });
        if (flags.json) printJson(coverage ? { ...result, coverage } : result);
        else process.stdout.write(renderResult(result) + (coverage ? `routine check: ${coverage.text}\n` : ''));
        return compareExitCode(result);
      });
    },
  };
}

/** `ironclad images`, over SSH. */
export const imagesFamily: Family = createImagesFamily();
