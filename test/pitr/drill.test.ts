// The point-in-time drill's pure parts (the audit's verdict: drill-record.test.ts): the heartbeat rule, the checkpoint's and proof's output.
import t from 'tap';
import { checkpointScript, judgeHeartbeat, parseCheckpoint, parseProof, pollUntil } from '../../src/pitr/drill.js';

t.test('the heartbeat: within 60 s of the point restored to', async (t) => {
  t.equal(judgeHeartbeat('2026-12-10T11:59:30.5Z', '2026-12-10T12:00:00Z'), null);
  t.match(judgeHeartbeat('2026-12-10T11:58:59Z', '2026-12-10T12:00:00Z'), /61 s from the point/);
  t.match(judgeHeartbeat('2026-12-10T12:01:01Z', '2026-12-10T12:00:00Z'), /-61 s/, 'a heartbeat from the future is as wrong');
  t.match(judgeHeartbeat(null, '2026-12-10T12:00:00Z'), /no heartbeat row/);
});

t.test("the checkpoint's and the proof's output", async (t) => {
  t.same(parseCheckpoint('@@point\t0/804AB88\t2026-12-02T22:25:17.123456Z\n@@counts\t2\t7\t{"public.t": 2, "public.u": 5}\n'), { lsn: '0/804AB88', time: '2026-12-02T22:25:17.123456Z', counts: { 'public.t': 2, 'public.u': 5 } });
  t.equal(parseCheckpoint('@@point\t0/8;rm\t2026-12-02T22:25:17Z\n@@counts\t0\t0\t{}\n'), null, 'an LSN that is not one');
  t.equal(parseCheckpoint('@@counts\t0\t0\t{}\n'), null, 'no restore point');
  const proof = parseProof('@@heartbeat 2026-12-02T22:25:10.000001Z\n@@db app\n@@counts\t1\t2\t{"public.t": 2}\n@@amcheck app ok 3\n');
  t.same(proof, { heartbeat: '2026-12-02T22:25:10.000001Z', counts: { 'public.t': 2 }, indexes: 3, amcheck: [] });
  const bad = parseProof('@@heartbeat none\n@@db app\n@@amcheck app failed ERROR: index "t_pkey" lacks a main relation fork\n');
  t.match(bad, { heartbeat: null, counts: null, indexes: 0, amcheck: [/amcheck found a problem in app: ERROR: index "t_pkey"/] });
});

t.test('the checkpoint script takes only plain names; the restore point reaches psql as a variable', async (t) => {
  const s = checkpointScript({ port: 5432, database: 'app', point: 'ironclad-drill-20261202T222517Z' });
  t.match(s, /pg_create_restore_point\(:'\\''point'\\''\)/);
  t.match(s, /-v point=ironclad-drill-20261202T222517Z/);
  t.match(s, /PGDATABASE=app su postgres/, 'the database in the environment');
  t.notMatch(s, / -d /, 'never a -d that libpq would parse as options');
  t.throws(() => checkpointScript({ port: 5432, database: "app'; DROP", point: 'ironclad-drill-20261202T222517Z' }));
  t.throws(() => checkpointScript({ port: 5432, database: 'app', point: "x'; DROP" }));
});

t.test('pollUntil: asks until yes; past its limit fails with the last word', async (t) => {
  let n = 0;
  await pollUntil(Date.now(), async () => ++n >= 3, () => 'never', 1);
  t.equal(n, 3, 'asked three times');
  let seen = '';
  await t.rejects(pollUntil(Date.now() - 2000, async () => ((seen = `asked ${++n}`), false), () => `not yet: ${seen}`, 1, 1), /not yet: asked 4/, 'past the limit: the reason says what the last ask found');
});
