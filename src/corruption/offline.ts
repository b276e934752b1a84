// pg_checksums --enable on a stopped cluster, run on the host in the background (a long rewrite outlives any one
// command's timeout and a dropped connection) and followed from here: its progress as bytes, rate and time left.
import type { Connector } from '../connectors/types.js';
import { shq } from '../core/quote.js';
import { humanBytes } from '../facts/render.js';
import { durationText } from '../operations/estimate.js';
import { INTEGRITY_PATHS } from './paths.js';

const DEFAULT_WORK = `${INTEGRITY_PATHS.dir}/checksums`;

/** Pure: the last progress line pg_checksums printed (`123/456 MB (26%) computed`), in MiB. */
export function parseProgress(out: string): { done: number; total: number } | null {
  const all = [...out.matchAll(/(\d+)\/(\d+) MB \(\d+%\)/g)];
  const m = all[all.length - 1];
  return m ? { done: Number(m[1]), total: Number(m[2]) } : null;
}

/** Pure: a progress line for the operator: bytes, rate, time left. */
export function progressText(p: { done: number; total: number }, elapsedS: number): string {
  const MiB = 1024 * 1024;
  const rate = elapsedS > 0 ? (p.done * MiB) / elapsedS : 0;
  const left = rate > 0 ? ((p.total - p.done) * MiB) / rate : null;
  return `${humanBytes(p.done * MiB)} of ${humanBytes(p.total * MiB)}${rate ? `, ${humanBytes(Math.round(rate))}/s` : ''}${left !== null ? `, about ${durationText(left)} left` : ''}`;
}

/** Start pg_checksums in the background (one at a time: a second start while one runs is refused, exit 75), then poll
 *  every `pollMs` until it ends; its exit code and the tail of its output. */
export async function runChecksumsEnable(args: { conn: Connector; bin: string; dataDirectory: string; log: (line: string) => void; pollMs?: number; work?: string }): Promise<{ code: number; output: string }> {
  const { conn, log } = args;
  const WORK = shq(args.work ?? DEFAULT_WORK);
  const cmd = `${args.bin}/pg_checksums --enable --progress -D ${shq(args.dataDirectory)}`;
  const job = 'exec 9>"$1/lock"; flock -n 9 || { echo 75 > "$1/rc"; exit 0; }; su postgres -s /bin/sh -c "$2" > "$1/out" 2>&1; echo $? > "$1/rc.tmp"; mv "$1/rc.tmp" "$1/rc"';
  const started = await conn.run(`mkdir -p -m 700 ${WORK} && rm -f ${WORK}/rc ${WORK}/out && cd / && setsid nohup sh -c ${shq(job)} sh ${WORK} ${shq(cmd)} </dev/null >/dev/null 2>&1 &`);
  if (started.code !== 0) return { code: started.code, output: started.stderr };
  const t0 = Date.now();
  let lastLog = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, args.pollMs ?? 2000));
    const r = await conn.run(`cat ${WORK}/rc 2>/dev/null; echo @@; tail -c 400 ${WORK}/out 2>/dev/null | tr '\\r' '\\n'`);
    const [rc, out = ''] = r.stdout.split('@@\n');
    if (rc.trim() !== '') return { code: Number(rc.trim()), output: out };
    const p = parseProgress(out);
    if (p && Date.now() - lastLog >= 10_000) {
      lastLog = Date.now();
      log(`pg_checksums: ${progressText(p, (Date.now() - t0) / 1000)}`);
    }
  }
}
