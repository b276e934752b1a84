// The point-in-time drill in the audit: the store's drill.json read back defensively (missing, not JSON, another
// host's, a time from the future, a failed drill), judged red after 8 days without a pass, read from the store by a
// script run for real on a made-up store, and collected for the audited hosts only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ConnectionPool } from '../../src/executor/pool.js';
import type { Host } from '../../src/inventory/types.js';
import { loadInventory } from '../../src/inventory/load.js';
import { judgePitrDrill } from '../../src/pitr/audit.js';
import { drillReadScript, lastPassedAt, parseDrillReads, parseDrillRecord, type DrillRead } from '../../src/pitr/drill-record.js';

const NOW = new Date('2026-12-10T12:00:00Z');
const rec = (o: object) => JSON.stringify({ host: 'db-prod', ...o });

t.test('the record, read defensively', async (t) => {
  const rows: [string, string | null | undefined, Partial<DrillRead> | RegExp][] = [
    ['absent', undefined, { kind: 'none' }],
    ['no file (empty)', '', { kind: 'none' }],
    ['a pass', rec({ passed: true, at: '2026-12-08T12:00:00Z' }), { kind: 'record', passed: true, at: '2026-12-08T12:00:00Z', lastPassedAt: '2026-12-08T12:00:00Z' }],
    ['a failure after a pass', rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: '2026-12-07T12:00:00Z' }), { kind: 'record', passed: false, lastPassedAt: '2026-12-07T12:00:00Z' }],
    ['a failure, never a pass', rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: null }), { kind: 'record', passed: false, lastPassedAt: null }],
    ['not JSON', '{"passed":tru', /not JSON/],
    ['JSON, not a record', '[1,2]', /not a drill record/],
    ['null', 'null', /not a drill record/],
    ["another host's", JSON.stringify({ host: 'db-other', passed: true, at: '2026-12-08T12:00:00Z' }), /not a record of db-prod/],
    ['no host', JSON.stringify({ passed: true, at: '2026-12-08T12:00:00Z' }), /not a record of db-prod/],
    ['passed is not a boolean', rec({ passed: 'true', at: '2026-12-08T12:00:00Z' }), /whether the drill passed/],
    ['a time that is not one', rec({ passed: true, at: '$(reboot)' }), /not a time/],
    ['a time from the future', rec({ passed: true, at: '2027-12-08T12:00:00Z' }), /later than this machine's clock/],
    ['a last pass that is not a time', rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: 'yesterday' }), /last pass is not a time/],
    ['a last pass after the latest drill', rec({ passed: false, at: '2026-12-09T11:00:00Z', last_passed_at: '2026-12-10T11:00:00Z' }), /later than its latest drill/],
    ['too long', rec({ passed: true, at: '2026-12-08T12:00:00Z', pad: 'x'.repeat(70000) }), /too long/],
  ];
  for (const [what, text, expect] of rows) {
    const read = parseDrillRecord(text, 'db-prod', NOW);
    if (expect instanceof RegExp) t.match(read, { kind: 'bad', why: expect }, what);
    else t.match(read, expect, what);
  }
  t.equal(lastPassedAt(parseDrillRecord(rec({ passed: true, at: '2026-12-08T12:00:00Z' }), 'db-prod', NOW)), '2026-12-08T12:00:00Z');
  t.equal(lastPassedAt(parseDrillRecord(rec({ passed: true, at: '2030-01-01T00:00:00Z' }), 'db-prod', NOW)), null, 'a pass from the future is no pass');
  t.equal(lastPassedAt({ kind: 'none' }), null);
});

t.test('the audit: red without a passing drill in 8 days', async (t) => {
  const OLD = '2026-11-01T00:00:00Z'; // archiving began long before: a drill is due
  const judge = (text: string | null | undefined, days?: number, since: string | null = OLD) => judgePitrDrill({ host: 'db-prod', store: 'backup-far', read: parseDrillRecord(text, 'db-prod', NOW), since, now: NOW, days });
  const fix = /ironclad pitr drill --host db-prod/;
  const rows: [string, ReturnType<typeof judge>, string, RegExp[]][] = [
    ['a recent pass', judge(rec({ passed: true, at: '2026-12-08T12:00:00Z' })), 'ok', [/passed 2026-12-08T12:00:00Z, 2 d ago/]],
    ['9 days old', judge(rec({ passed: true, at: '2026-12-01T11:00:00Z' })), 'failure', [/no passing point-in-time restore drill of db-prod in the last 8 days \(last passed: 2026-12-01T11:00:00Z, 9 d 1 h ago\): due after 8 days/, fix]],
    ['the latest failed, a pass within 8 days', judge(rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: '2026-12-07T12:00:00Z' })), 'warning', [/the latest, 2026-12-10T11:00:00Z, failed \(last passed: 2026-12-07T12:00:00Z/, fix]],
    ['never passed', judge(rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: null })), 'failure', [/last passed: never\): the latest, 2026-12-10T11:00:00Z, failed/, fix]],
    ['no record', judge(undefined), 'failure', [/last passed: never\): no drill recorded on backup-far; archiving began 2026-11-01T00:00:00Z/, fix]],
    ['no record, archiving 5 days old', judge(undefined, 8, '2026-12-05T12:00:00Z'), 'ok', [/no point-in-time restore drill of db-prod has passed yet \(no drill recorded on backup-far\); one is due by 2026-12-13T12:00:00Z, 8 days after archiving began/, fix]],
    ['no record, archiving 8 days and a minute old', judge(undefined, 8, '2026-12-02T11:59:00Z'), 'failure', [/no drill recorded on backup-far; archiving began 2026-12-02T11:59:00Z/]],
    ['never passed, the latest failed, archiving young', judge(rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: null }), 8, '2026-12-09T00:00:00Z'), 'warning', [/has passed yet \(the latest, 2026-12-10T11:00:00Z, failed\); one is due by 2026-12-17T00:00:00Z/, fix]],
    ['no record, archiving not begun', judge(undefined, 8, null), 'ok', [/one is due 8 days after archiving begins/]],
    ['an unusable record, archiving young', judge('<html>', 8, '2026-12-09T00:00:00Z'), 'failure', [/unusable \(it is not JSON\)/]],
    ['an unusable record', judge('<html>'), 'failure', [/last passed: never\): the drill record on backup-far is unusable \(it is not JSON\)/, fix]],
    ['a time from the future', judge(rec({ passed: true, at: '2027-01-01T00:00:00Z' })), 'failure', [/unusable \(its time is later than this machine's clock\)/]],
    ['the bound is a parameter', judge(rec({ passed: true, at: '2026-12-01T12:00:00Z' }), 10), 'ok', [/passed 2026-12-01T12:00:00Z/]],
    ['the store did not answer', judgePitrDrill({ host: 'db-prod', store: 'backup-far', read: null, since: OLD, now: NOW }), 'failure', [/last passed: unknown\): its drill record could not be read from backup-far/, fix]],
    ['the store outside --limit', judgePitrDrill({ host: 'db-prod', store: 'backup-far', read: 'not audited', since: OLD, now: NOW }), 'warning', [/^not judged: its store backup-far is not among the audited hosts/]],
  ];
  for (const [what, f, level, messages] of rows) {
    t.match(f, { host: 'db-prod', area: 'drill', subject: 'pitr drill', level }, what);
    for (const m of messages) t.match(f.message, m, what);
  }
  t.notMatch(judge(rec({ passed: false, at: '2026-12-10T11:00:00Z', last_passed_at: null, problems: ['$(rm -rf /)'] })).message, /rm -rf/, 'nothing but checked times of the record reaches the message');
});

t.test("the store's script, run on a made-up store", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'drill-store-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const put = (host: string, text: string) => (mkdirSync(join(root, 'pitr', host), { recursive: true }), writeFileSync(join(root, 'pitr', host, 'drill.json'), text));
  put('db-a', `${rec({ passed: true, at: '2026-12-08T12:00:00Z' })}\n`);
  put('db-b', 'db-a\t{"forged":true}\nsecond line\n');
  mkdirSync(join(root, 'pitr', 'db-c'));
  writeFileSync(join(root, 'secret'), 'not for the audit\n');
  symlinkSync(join(root, 'secret'), join(root, 'pitr', 'db-c', 'drill.json'));
  put("db 'd", 'x');
  const hosts = ['db-a', 'db-b', 'db-c', "db 'd", 'db-none'];
  const r = spawnSync('/bin/sh', ['-c', drillReadScript(root, hosts)], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const reads = parseDrillReads(r.stdout, hosts);
  t.same(Object.fromEntries(reads), { 'db-a': rec({ passed: true, at: '2026-12-08T12:00:00Z' }), 'db-b': 'db-a\t{"forged":true}', 'db-c': '', "db 'd": 'x', 'db-none': '' }, 'the first line each, a link not followed, a missing file empty');
  t.same(Object.fromEntries(parseDrillReads('db-x\t{}\ndb-a\tfirst\ndb-a\tsecond\n', ['db-a'])), { 'db-a': 'first' }, 'only hosts asked about, the first line of each');
  t.equal(parseDrillReads('', ['db-a']).has('db-a'), false, 'no line: not read');
});

t.test('collected for the audited hosts, from their store', async (t) => {
  const inv = loadInventory(new URL('../../inventory/lab.yaml', import.meta.url).pathname);
  const pick = (...names: string[]) => inv.hosts.filter((h) => names.includes(h.name));
  const collect = async (hosts: Host[], drill: (script: string) => { code: number; stdout: string }) => {
    const ran: string[] = [];
    const pool = {
      get: async (h: Host) => ({
        host: h.name,
        run: async (script: string) => {
          ran.push(`${h.name}: ${script.includes('drill.json') ? 'drill' : 'status'}`);
          return { host: h.name, command: '', stderr: '', durationMs: 1, ...(script.includes('drill.json') ? drill(script) : { code: 0, stdout: '' }) };
        },
      }),
    } as unknown as ConnectionPool;
    const { collectPitr } = await t.mockImport<typeof import('../../src/pitr/audit-collect.js')>('../../src/pitr/audit-collect.js', {
      '../../src/pitr/state.js': { gatherDbState: async () => ({ slot: { walStatus: 'reserved', retainedBytes: 0 } }) },
    });
    const findings = await collectPitr(inv, hosts, pool, NOW);
    return { ran: ran.sort(), drill: findings.find((f) => f.subject === 'pitr drill') };
  };
  const good = await collect(pick('db-prod', 'backup-far'), (s) => ({ code: 0, stdout: s.includes('/srv/ironclad/backups/pitr/db-prod/drill.json') ? `db-prod\t${rec({ passed: true, at: '2026-12-09T12:00:00Z' })}\n` : '' }));
  t.same(good.ran, ['backup-far: drill', 'backup-far: status']);
  t.match(good.drill, { host: 'db-prod', level: 'ok', message: /passed 2026-12-09T12:00:00Z/ });
  const forged = await collect(pick('db-prod', 'backup-far'), () => ({ code: 0, stdout: `db-prod\t${JSON.stringify({ host: 'staging', passed: true, at: '2026-12-09T12:00:00Z' })}\n` }));
  t.match(forged.drill, { level: 'failure', message: /unusable \(it is not a record of db-prod\)/ }, "another host's record is no pass");
  const failed = await collect(pick('db-prod', 'backup-far'), () => ({ code: 1, stdout: '' }));
  t.match(failed.drill, { level: 'failure', message: /could not be read from backup-far/ });
  const limited = await collect(pick('db-prod'), () => t.fail('the store is not contacted') as never);
  t.same(limited.ran, []);
  t.match(limited.drill, { level: 'warning', message: /^not judged: its store backup-far/ });
});
