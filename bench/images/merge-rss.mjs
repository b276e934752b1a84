#!/usr/bin/env node
// Peak memory and time of the manifest merge for N files per side (default 1,000,000): two synthetic sorted
// manifests in the host script's format, streamed from disk through the code `images compare` runs, measured in a
// fresh process (its peak RSS is the merge's). Usage: node bench/images/merge-rss.mjs [N]   (needs `npm run build`)
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = new URL('../../dist/src/images/', import.meta.url);

/** Write a manifest in path order; the replica misses, resizes and alters one file in every 100,000. */
async function writeManifest(file, n, replica) {
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    const odd = replica ? i % 100_000 : -1;
    if (odd === 1) continue; // missing on the replica
    const path = `y${String(Math.floor(i / 50_000)).padStart(4, '0')}/m${String(Math.floor(i / 1000) % 50).padStart(2, '0')}/img_${String(i).padStart(8, '0')}.jpg`;
    const size = 1000 + (i % 500_000) + (odd === 3 ? 1 : 0);
    const hash = odd === 2 ? 'f'.repeat(64) : ((i * 2654435761) % 4294967296).toString(16).padStart(8, '0').repeat(8);
    if (!out.write(`${hash}\t${size}\t1700000000.0000000000\t1700000000.0000000000\t${i + 1000}\t${path}\0`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The measured part: merge two manifest files, print seconds, peak RSS and the tally. */
async function merge(dir) {
  const { entryBatches } = await import(new URL('manifest.js', dist).href);
  const { diffSorted } = await import(new URL('diff.js', dist).href);
  const { Tally } = await import(new URL('summary.js', dist).href);
  const { localFileBytes } = await import(new URL('side.js', dist).href);
  const started = process.hrtime.bigint();
  const tally = new Tally(10);
  const read = (name) => entryBatches(localFileBytes(join(dir, name)));
  for await (const rows of diffSorted(read('source'), read('replica'))) for (const r of rows) tally.add(r);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
  console.log(JSON.stringify({ seconds, cpuSeconds: (userCPUTime + systemCPUTime) / 1e6, peakMb: maxRSS / 1024, equal: tally.equal, counts: tally.counts }));
}

if (process.argv[2] === '--merge') await merge(process.argv[3]);
else {
  const n = Number(process.argv[2] ?? process.env.MERGE_FILES ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'ironclad-merge-'));
  try {
    await writeManifest(join(dir, 'source'), n, false);
    await writeManifest(join(dir, 'replica'), n, true);
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--merge', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`merge failed (${r.status})`);
    const m = JSON.parse(r.stdout);
    console.log(`merge of ${n} files per side: ${m.seconds.toFixed(2)} s (${m.cpuSeconds.toFixed(2)} s CPU), peak RSS ${m.peakMb.toFixed(0)} MB (whole process)`);
    console.log(`  equal ${m.equal}, ${Object.entries(m.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
