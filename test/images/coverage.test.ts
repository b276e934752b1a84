import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { runCheck, type CoverageStore } from '../../src/images/check.js';
import { coverageOf, describeCoverage, fullyCovered, nextSlice, parseBytes, parseCoverageState, planSlices, recordRun, resize, type CoverageState } from '../../src/images/coverage.js';
import { flipBit, localSide, sourceTree } from './fixtures/trees.js';

const GB = 1024 ** 3;
const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n));

t.test('planSlices: a slice a run over N days, more when the budget is smaller, and then it says so', async (t) => {
  t.same(planSlices({ bytes: 300 * GB, days: 30, runsPerDay: 1 }), { slices: 30, bytesPerRun: 10 * GB, cycleDays: 30, withinDays: true });
  t.same(planSlices({ bytes: 300 * GB, days: 30, runsPerDay: 4, budgetBytes: 5 * GB }), { slices: 120, bytesPerRun: 2.5 * GB, cycleDays: 30, withinDays: true });
  t.match(planSlices({ bytes: 300 * GB, days: 30, runsPerDay: 1, budgetBytes: 5 * GB }), { slices: 60, cycleDays: 60, withinDays: false });
  t.match(planSlices({ bytes: 0, days: 7, runsPerDay: 1 }), { slices: 7, bytesPerRun: 0, withinDays: true });
});

t.test('nextSlice, recordRun, resize: the oldest slice next; a new split is as old as the oldest known', async (t) => {
  let s: CoverageState = resize(null, 3);
  t.same(s.verified, [null, null, null]);
  t.equal(nextSlice(s), 0);
  s = recordRun(s, 0, day(0));
  t.equal(nextSlice(s), 1);
  s = recordRun(recordRun(s, 1, day(1)), 2, day(2));
  t.equal(nextSlice(s), 0, 'all verified: the oldest');
  s = recordRun(s, 0, day(3));
  t.equal(nextSlice(s), 1);
  t.same(resize(s, 3), s, 'same count: unchanged');
  t.same(resize(s, 5).verified, Array(5).fill(day(1).toISOString()), 'another count: every slice as old as the oldest');
  t.same(resize({ slices: 2, verified: [null, day(1).toISOString()] }, 4).verified, [null, null, null, null], 'a never-verified slice: never');
  t.same(recordRun(resize(null, 2), 'all', day(5)).verified, [day(5).toISOString(), day(5).toISOString()]);
});

t.test('coverageOf and describeCoverage', async (t) => {
  const s: CoverageState = { slices: 4, verified: [day(0), day(10), day(20), day(25)].map((d) => d.toISOString()) };
  const c = coverageOf(s, 30, day(22));
  t.match(c, { verified_fraction: 1, oldest_days: 22, never: 0 });
  t.equal(describeCoverage(c), '100% verified within 30 days, oldest 22 days ago');
  t.ok(fullyCovered(c));
  const late = coverageOf(s, 30, day(35));
  t.equal(describeCoverage(late), '75% verified within 30 days, oldest 35 days ago');
  t.notOk(fullyCovered(late));
  const first = coverageOf({ slices: 3, verified: [day(0).toISOString(), null, null] }, 30, day(1));
  t.equal(describeCoverage(first), '33.3% verified within 30 days, 2 slice(s) not verified yet (first cycle)');
  t.match(first, { never: 2, stale: 0 });
  t.match(late, { never: 0, stale: 1 });
});

t.test('parseBytes and parseCoverageState', async (t) => {
  t.equal(parseBytes('50G'), 50 * GB);
  t.equal(parseBytes('800MB'), 800 * 1024 ** 2);
  t.equal(parseBytes('1.5TiB'), 1.5 * 1024 ** 4);
  t.equal(parseBytes('1234'), 1234);
  t.equal(parseBytes('lots'), undefined);
  t.same(parseCoverageState('{"slices":2,"verified":[null,"2026-01-01T00:00:00.000Z"],"bytes":5}'), { slices: 2, verified: [null, '2026-01-01T00:00:00.000Z'], bytes: 5 });
  for (const bad of [null, '', 'nope', '{"slices":2,"verified":[null]}', '{"slices":1,"verified":["yesterday"]}']) t.equal(parseCoverageState(bad), null, String(bad));
});

t.test('runCheck on real trees: a slice a run, every file rehashed once a cycle, coverage kept and reported', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  let saved: CoverageState | null = null;
  const store: CoverageStore = { read: async () => saved, save: async (s) => void (saved = s) };
  const req = { name: 'x', source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')), hash: 'sha256' as const, spec: { days: 3, runsPerDay: 1 }, store };
  const first = await runCheck({ ...req, now: day(0) });
  t.match(first, { verified: 'all', ok: true, plan: { slices: 3 }, coverage: { text: '100% verified within 3 days, oldest 0 days ago' } }, 'a first run (empty caches) hashes everything');
  let hashed = 0;
  for (let run = 1; run <= 3; run++) {
    const r = await runCheck({ ...req, now: day(run) });
    t.equal(r.verified, run - 1, `run ${run} verifies slice ${run - 1}`);
    t.equal(r.compare.source.hashed, r.compare.replica.hashed, 'the same files on both sides');
    t.ok(r.compare.source.hashed! < r.compare.source.files, `run ${run}: a slice, not everything (${r.compare.source.hashed})`);
    t.equal(r.ok, true);
    hashed += r.compare.source.hashed!;
  }
  t.equal(hashed, first.compare.source.files, 'over a cycle every file was rehashed exactly once');
  t.equal(saved!.verified.length, 3);
  const late = await runCheck({ ...req, now: day(10) });
  t.match(late.coverage, { verified_fraction: 1 / 3 }, 'ten days later only the slice just run is within 3 days');
  t.equal(late.ok, false, 'coverage short of 100%: not ok');
  flipBit(join(dir, 'dst', 'photos/same.jpg'), 7, 1);
  const rot = await runCheck({ ...req, now: day(11) });
  t.same(rot.compare.content_mismatch, ['photos/same.jpg'], 'a discrepancy is reported by the next run');
  t.equal(rot.ok, false);
});

t.test('runCheck under a byte budget: the first cycle builds coverage a slice a run, reported, not failed', async (t) => {
  const dir = t.testdir();
  sourceTree(join(dir, 'src'));
  execFileSync('cp', ['-a', join(dir, 'src'), join(dir, 'dst')]);
  let saved: CoverageState | null = null;
  const store: CoverageStore = { read: async () => saved, save: async (s) => void (saved = s) };
  const req = { name: 'x', source: localSide('source', join(dir, 'src'), join(dir, 'c')), replica: localSide('replica', join(dir, 'dst'), join(dir, 'c')), hash: 'sha256' as const, spec: { days: 2, runsPerDay: 1, budgetBytes: 1024 }, store };
  const first = await runCheck({ ...req, now: day(0) });
  t.equal(first.verified, 'all', 'empty caches: the first run hashed everything anyway');
  saved = null;
  const again = await runCheck({ ...req, now: day(1) });
  t.equal(again.verified, 0, 'warm caches, no state, a budget: one slice');
  t.match(again.coverage, { never: 1, stale: 0 });
  t.match(again.coverage.text, /not verified yet \(first cycle\)/);
  t.equal(again.ok, true, 'a first cycle under way is not a failure');
  t.match(again.plan, { slices: 2, withinDays: true });
  const big = await runCheck({ ...req, spec: { ...req.spec, budgetBytes: 1 }, now: day(2) });
  t.match(big.plan, { withinDays: false }, 'a budget too small for the days is said');
});

