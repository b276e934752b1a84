// postgres_updates (apt-cache policy) and backup_job (the installed job's settings and status file), as tables of cases.
import t from 'tap';
import { parseBackupJob, parseJobStatus } from '../../src/facts/backup-job.js';
import { parsePolicy } from '../../src/facts/updates.js';

t.test('apt-cache policy', async (t) => {
  const cases: [string, string, { name: string; installed: string | null; candidate: string | null; pending: boolean }[]][] = [
    ['a minor update pending', 'postgresql-15:\n  Installed: 15.18-0+deb12u1\n  Candidate: 15.20-0+deb12u1\n', [{ name: 'postgresql-15', installed: '15.18-0+deb12u1', candidate: '15.20-0+deb12u1', pending: true }]],
    ['up to date', 'postgresql-common:\n  Installed: 248\n  Candidate: 248\n', [{ name: 'postgresql-common', installed: '248', candidate: '248', pending: false }]],
    ['no candidate (not in any list)', 'postgresql-16:\n  Installed: 16.1-1\n  Candidate: (none)\n', [{ name: 'postgresql-16', installed: '16.1-1', candidate: null, pending: false }]],
    ['not installed', 'postgresql-doc:\n  Installed: (none)\n  Candidate: 15.20\n', [{ name: 'postgresql-doc', installed: null, candidate: '15.20', pending: false }]],
    ['nothing', '', []],
  ];
  for (const [name, text, want] of cases) t.same(parsePolicy(text), want, name);
});

t.test('the installed backup job', async (t) => {
  const status = '{"host":"db-prod","state":"refused","exit":3,"message":"only 0 tables","time":"2026-11-30T02:15:09Z","backups":""}';
  t.same(parseBackupJob("HOST='db-prod'\nDATABASES='app billing'\n", status), {
    installed: true,
    host: 'db-prod',
    databases: ['app', 'billing'],
    status: { state: 'refused', exit: 3, message: 'only 0 tables', time: '2026-11-30T02:15:09Z' },
  });
  t.same(parseBackupJob(undefined, undefined), { installed: false, host: null, databases: [], status: null }, 'no job');
  t.equal(parseJobStatus('{"state":"odd","time":"x"}'), null, 'an unknown state is not trusted');
  t.equal(parseJobStatus('{"state":"ok"'), null, 'a torn status file is not trusted');
});
