// The routine check's arithmetic (pure): the tree split in slices by path, one slice rehashed a run within a byte
// budget, so that every file on both sides is verified at least once every N days; and what that coverage is now.

/** Per slice, when its files were last rehashed on both sides (ISO time), or null when never. Kept on the replica. */
export interface CoverageState {
  slices: number;
  verified: (string | null)[];
  bytes?: number; // the fuller side's bytes at the last run: how the next run sizes its slices
}

/** How a pair is split: slices, bytes a run reads on the fuller side, days a full cycle takes. */
export interface SlicePlan {
  slices: number;
  bytesPerRun: number;
  cycleDays: number;
  withinDays: boolean; // false: the budget is too small to verify everything within `days`
}

/**
 * One slice per run, so a full cycle takes `days`; more (smaller) slices when such a slice is above the budget
 * (bytes one run may read on one side), and then the cycle is longer than `days` and the plan says so.
 */
export function planSlices(o: { bytes: number; days: number; runsPerDay: number; budgetBytes?: number }): SlicePlan {
  const runs = Math.max(1, Math.floor(o.days * o.runsPerDay));
  let slices = runs;
  if (o.budgetBytes && o.bytes / slices > o.budgetBytes) slices = Math.ceil(o.bytes / o.budgetBytes);
  slices = Math.min(slices, 10_000);
  const cycleDays = slices / o.runsPerDay;
  return { slices, bytesPerRun: Math.ceil(o.bytes / slices), cycleDays, withinDays: cycleDays <= o.days + 1e-9 };
}

/** The state for `slices` slices: kept when the count is the same; else every slice gets the oldest time known
 *  (a path's slice depends on the count, so nothing better can be said), null when any slice was never verified. */
export function resize(state: CoverageState | null, slices: number): CoverageState {
  if (state && state.slices === slices && state.verified.length === slices) return state;
  const known = state?.verified ?? [];
  const oldest = known.length && known.every((v) => v !== null) ? [...(known as string[])].sort()[0] : null;
  return { slices, verified: Array.from({ length: slices }, () => oldest), ...(state?.bytes !== undefined ? { bytes: state.bytes } : {}) };
}

/** The slice this run rehashes: never verified first, else the one verified longest ago; ties to the lowest. */
export function nextSlice(state: CoverageState): number {
  let best = 0;
  for (let i = 1; i < state.slices; i++) {
    const [a, b] = [state.verified[i], state.verified[best]];
    if (b === null) break;
    if (a === null || a < b) best = i;
  }
  return best;
}

/** The state after a run verified `slice` (or every slice: a first run, or --rehash, hashes everything) at `at`. */
export function recordRun(state: CoverageState, verified: number | 'all', at: Date): CoverageState {
  const time = at.toISOString();
  return { ...state, verified: state.verified.map((v, i) => (verified === 'all' || i === verified ? time : v)) };
}

/** Coverage now: the share of slices verified within `days`, how old the oldest verification is. */
export interface Coverage {
  days: number;
  verified_fraction: number; // 0..1
  oldest_days: number | null; // null: some slice was never verified
  never: number; // slices never verified (a first cycle under way)
  stale: number; // slices verified, but longer ago than `days`
}

/** Pure: the coverage of a state at `now`. */
export function coverageOf(state: CoverageState, days: number, now: Date): Coverage {
  const ages = state.verified.map((v) => (v === null ? null : (now.getTime() - Date.parse(v)) / 86_400_000));
  const within = ages.filter((a) => a !== null && a <= days).length;
  const never = ages.filter((a) => a === null).length;
  const oldest = never ? null : Math.max(...(ages as number[]));
  return { days, verified_fraction: state.slices ? within / state.slices : 0, oldest_days: oldest, never, stale: state.slices - within - never };
}

/** "100% verified within 30 days, oldest 12 days ago" (rounded down, so 99.6% is not shown as 100%). */
export function describeCoverage(c: Coverage): string {
  const pct = Math.floor(c.verified_fraction * 1000) / 10;
  const oldest = c.oldest_days === null ? `${c.never} slice(s) not verified yet (first cycle)` : `oldest ${Math.floor(c.oldest_days)} days ago`;
  return `${pct}% verified within ${c.days} days, ${oldest}`;
}

/** True when every file was verified within the days asked. */
export function fullyCovered(c: Coverage): boolean {
  return c.never === 0 && c.verified_fraction === 1;
}

/** True when no file's last verification is older than the days asked (a first cycle may still be under way). */
export function onTime(c: Coverage): boolean {
  return c.stale === 0;
}

/** Parse a byte budget: a number of bytes, or with K, M, G, T (powers of 1024), e.g. "50G" or "800MB". */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const power = ' KMGT'.indexOf(m[2].toUpperCase() || ' ');
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** Parse a state file's text; null when absent or unusable (then a run starts over, never claims coverage). */
export function parseCoverageState(text: string | null): CoverageState | null {
  if (!text?.trim()) return null;
  try {
    const s = JSON.parse(text);
    const ok = Number.isInteger(s.slices) && s.slices > 0 && Array.isArray(s.verified) && s.verified.length === s.slices;
    return ok && s.verified.every((v: unknown) => v === null || (typeof v === 'string' && !Number.isNaN(Date.parse(v)))) ? s : null;
  } catch {
    return null;
  }
}
