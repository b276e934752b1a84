// One side of a comparison on its host: probe, scan, read the manifest back, clean up. Only manifests travel.
import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { OperationError, UserError } from '../core/errors.js';
import { shq } from '../core/quote.js';
import type { Connector } from '../connectors/types.js';
import { describeLocation, type Location } from './locations.js';
import { parseManifest } from './manifest.js';
import { probeHere } from './probe-here.js';
import { parseProbe, parseScanStats, scriptCommand, scriptFailure, type Probe, type ScanTuning } from './script.js';
import type { Entry, HashAlgo, ScanMode, ScanStats } from './types.js';

/** A side ready to work on: where the tree is, the connector to its host, where that host keeps the cache. */
export interface Side {
  role: 'source' | 'replica';
  location: Location;
  connector: Connector;
  cacheDir?: string; // on that host; default ~/.cache/ironclad/images
}

/** The files one run leaves on a side's host until it is done with them. */
export interface RunFiles {
  manifest: string;
  progress: string;
}

/** Names of this run's files next to the side's cache; remote manifests travel gzipped. */
export function runFiles(side: Side, probe: Probe, run: string): RunFiles {
  const gz = side.location.kind === 'host' ? '.gz' : '';
  return { manifest: `${probe.prefix}.${run}.manifest${gz}`, progress: `${probe.prefix}.${run}.progress` };
}

const where = (side: Side) => `${side.role} ${describeLocation(side.location)}`;

/** Check the tree exists and learn where its cache lives and which hashes the host has. */
export async function probeSide(side: Side): Promise<Probe> {
  if (side.location.kind === 'local') {
    // on this machine, in this process: no shell to start
    const probe = await probeHere(side.location.path, side.cacheDir);
    if (!probe) throw new UserError(`${where(side)}: no such directory`, 'check the path (and the host) and try again');
    return probe;
  }
  const result = await side.connector.run(scriptCommand({ op: 'probe', root: side.location.path, cacheDir: side.cacheDir }));
  if (result.code !== 0) throw scriptFailure(where(side), result);
  return parseProbe(result.stdout);
}

/** Walk and hash the tree where it lives, leaving the sorted manifest in `files.manifest`. */
export async function scanSide(side: Side, run: { algo: HashAlgo; mode: ScanMode; files: RunFiles; tuning?: ScanTuning; watched?: boolean }): Promise<ScanStats> {
  const result = await side.connector.run(
    scriptCommand({
      op: 'scan',
      root: side.location.path,
      cacheDir: side.cacheDir,
      algo: run.algo,
      mode: run.mode,
      manifest: run.files.manifest,
      progress: run.watched === false ? undefined : run.files.progress, // no one watching: no process per update
      pack: side.location.kind === 'host' ? 'gz' : 'none',
      tuning: run.tuning,
    }),
  );
  if (result.code !== 0) throw scriptFailure(where(side), result);
  return parseScanStats(result.stdout);
}

/** The progress line the scan keeps up to date ('' before it starts or after it ends). */
export async function readProgress(side: Side, files: RunFiles): Promise<string> {
  const result = await side.connector.run(`cat ${shq(files.progress)} 2>/dev/null || true`);
  return result.stdout;
}

/** Remove this run's files from the side's host (the cache stays). */
export async function removeRunFiles(side: Side, files: RunFiles): Promise<void> {
  if (side.location.kind === 'local') {
    // on this machine without starting a shell (a local compare's last step: every process saved shows); unlink, not
    // rm: no lstat first, nor the module fs.rm loads on its first use
    const gone = (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e));
    await Promise.all([files.manifest, files.progress, `${files.progress}.tmp`].map((f) => unlink(f).catch(gone)));
    return;
  }
  await side.connector.run(`rm -f ${shq(files.manifest)} ${shq(files.progress)} ${shq(`${files.progress}.tmp`)}`);
}

/**
 * A remote file's bytes in pieces through `run` (base64 over the command channel), so memory stays bounded by
 * `piece` whatever the file's size. A connector with a byte stream could replace this with one round trip.
 */
export async function* remoteFileBytes(connector: Connector, path: string, piece = 8 << 20): AsyncGenerator<Buffer> {
  for (let offset = 0; ; offset += piece) {
    const r = await connector.run(`[ -f ${shq(path)} ] || exit 66; tail -c +${offset + 1} ${shq(path)} | head -c ${piece} | base64 -w0`);
    if (r.code !== 0) throw new OperationError(`${connector.host}: cannot read ${path} (exit ${r.code}) ${r.stderr.trim()}`);
    const bytes = Buffer.from(r.stdout, 'base64');
    if (bytes.length) yield bytes;
    if (bytes.length < piece) return;
  }
}

/** A file on this machine in 64 KiB reads: small batches keep the merge's objects young, cheap to collect. */
export function localFileBytes(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: 64 << 10 });
}

/**
 * A local manifest of at most `maxBytes`, parsed as soon as its scan ends: the side that finishes first is parsed while
 * the other still scans, not after it (on a small tree the merge is most of the time after the scans). Undefined for a
 * host's or a larger manifest: those are streamed by the merge, memory bounded whatever their size.
 */
export async function parseEarly(side: Side, files: RunFiles, maxBytes = 8 << 20): Promise<Entry[] | undefined> {
  if (side.location.kind !== 'local') return undefined;
  const file = await open(files.manifest);
  try {
    if ((await file.stat()).size > maxBytes) return undefined;
    return parseManifest(await file.readFile());
  } finally {
    await file.close();
  }
}

/** The manifest's bytes: read in place on this machine, fetched and gunzipped for a host. */
export function manifestBytes(side: Side, files: RunFiles): AsyncIterable<Buffer> {
  if (side.location.kind === 'local') return localFileBytes(files.manifest);
  const gunzip = createGunzip();
  pipeline(Readable.from(remoteFileBytes(side.connector, files.manifest)), gunzip).catch((e) => gunzip.destroy(e));
  return gunzip;
}
