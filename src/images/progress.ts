// Progress on a terminal: each side's scan reports PHASE FILES_DONE FILES_TOTAL BYTES_DONE BYTES_TOTAL in a file on
// its host; ironclad polls it and shows files, bytes, rate and ETA on one stderr line.
import { humanBytes } from '../core/bytes.js';
import { count } from './render.js';

/** Where one side's scan is. */
export type ProgressState =
  | { phase: 'starting' }
  | { phase: 'walking' }
  | { phase: 'hashing' | 'copying'; files: number; filesTotal: number; bytes: number; bytesTotal: number }
  | { phase: 'writing' };

/** Parse the progress file's line; anything unreadable is 'starting' (the file appears once the scan runs). */
export function parseProgress(text: string): ProgressState {
  const [phase, ...nums] = text.trim().split(/\s+/);
  const [files, filesTotal, bytes, bytesTotal] = nums.map(Number);
  switch (phase) {
    case 'walking':
      return { phase };
    case 'writing':
      return { phase };
    case 'hashing':
    case 'copying':
      if ([files, filesTotal, bytes, bytesTotal].every(Number.isFinite)) return { phase, files, filesTotal, bytes, bytesTotal };
      return { phase: 'starting' };
    default:
      return { phase: 'starting' };
  }
}

/** A state seen at a time (ms). */
export interface Sample {
  at: number;
  state: ProgressState;
}

function seconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** One side's part of the line: phase, files, bytes, and while hashing the rate since `first` and the ETA. */
export function describeProgress(label: string, first: Sample | undefined, last: Sample): string {
  const s = last.state;
  if (s.phase !== 'hashing' && s.phase !== 'copying') return `${label}: ${s.phase}`;
  const base = `${label}: ${count(s.files)}/${count(s.filesTotal)} files ${humanBytes(s.bytes)}/${humanBytes(s.bytesTotal)}`;
  const f = first?.state;
  if (!first || f?.phase !== s.phase || last.at <= first.at || s.bytes <= f.bytes) return base;
  const rate = ((s.bytes - f.bytes) * 1000) / (last.at - first.at);
  return `${base} ${humanBytes(rate)}/s ETA ${seconds((s.bytesTotal - s.bytes) / rate)}`;
}

/** A poller writing one self-overwriting line to a terminal; stop() clears it. */
export function watchProgress(opts: {
  labels: string[];
  read: (index: number) => Promise<string>;
  out: NodeJS.WritableStream;
  intervalMs?: number;
}): { stop(): void } {
  const first: (Sample | undefined)[] = opts.labels.map(() => undefined);
  const last: Sample[] = opts.labels.map(() => ({ at: Date.now(), state: { phase: 'starting' } }));
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const texts = await Promise.all(opts.labels.map((_, i) => opts.read(i).catch(() => '')));
      const at = Date.now();
      texts.forEach((t, i) => {
        last[i] = { at, state: parseProgress(t) };
        const phase = last[i].state.phase;
        if ((phase === 'hashing' || phase === 'copying') && first[i]?.state.phase !== phase) first[i] = last[i];
      });
      if (timer) opts.out.write(`\r\x1b[K${opts.labels.map((l, i) => describeProgress(l, first[i], last[i])).join(' | ')}`);
    } finally {
      busy = false;
    }
  };
  let timer: NodeJS.Timeout | undefined = setInterval(() => void tick(), opts.intervalMs ?? 500);
  return {
    stop() {
      if (!timer) return;
      clearInterval(timer);
      timer = undefined;
      opts.out.write('\r\x1b[K');
    },
  };
}
