import t from 'tap';
import { jobsFact, parseTimers } from '../../src/facts/jobs.js';
import { splitSections } from '../../src/facts/script.js';
import type { Section } from '../../src/facts/types.js';
import { FIXTURE_NONCE, fixture, section } from '../fixtures/facts/load.js';

const recorded = splitSections(fixture('debian12-down.combined.txt'), FIXTURE_NONCE).get('jobs') as Section;

t.test('systemd 252 timers: times with spaces, n/a, multi-word LEFT', async (t) => {
  t.same(parseTimers(fixture('timers.txt')), [
    { unit: 'logrotate.timer', activates: 'logrotate.service', next: 'Thu 2024-01-04 00:00:00 UTC', last: 'Wed 2024-01-03 00:00:09 UTC' },
    { unit: 'ironclad-backup.timer', activates: 'ironclad-backup.service', next: 'Thu 2024-01-04 02:15:00 UTC', last: null },
    { unit: 'e2scrub_all.timer', activates: 'e2scrub_all.service', next: 'Sun 2024-01-07 03:10:07 UTC', last: 'Sun 2023-12-31 03:10:37 UTC' },
    { unit: 'stale.timer', activates: 'stale.service', next: null, last: 'Wed 2024-01-03 10:00:00 UTC' },
  ]);
  t.same(parseTimers('0 timers listed.\n'), []);
});

t.test('jobs from parts', async (t) => {
  const cases = [
    {
      name: 'recorded: one cron.d file, empty crontab, no systemd',
      parts: recorded.parts,
      want: { cron_d: [{ name: 'e2scrub_all', lines: 2, package: null }], root_crontab: 0, timers: 0 },
    },
    {
      name: 'file names with spaces, comments dropped, crontab and timers',
      parts: [
        { name: 'cron.d/my file', text: '# c\n\nSHELL=/bin/sh\n@reboot root /bin/true\n' },
        { name: 'cron.d/e2scrub_all', text: '30 3 * * 0 root /bin/true\n' },
        { name: 'owners', text: 'e2fsprogs: /etc/cron.d/e2scrub_all\ndiversion by x from: /etc/cron.d/y\n' },
        { name: 'crontab', text: '# m h dom mon dow command\n0 4 * * * /usr/local/bin/cleanup\n' },
        { name: 'timers', text: fixture('timers.txt') },
      ],
      want: { cron_d: [{ name: 'my file', lines: 2, package: null }, { name: 'e2scrub_all', lines: 1, package: 'e2fsprogs' }], root_crontab: 1, timers: 4 },
    },
    { name: 'nothing at all', parts: [], want: { cron_d: [], root_crontab: 0, timers: 0 } },
  ];
  for (const c of cases) {
    const j = jobsFact.parse(section('jobs', '', c.parts));
    t.same({ cron_d: j.cron_d.map((f) => ({ name: f.name, lines: f.lines.length, package: f.package })), root_crontab: j.root_crontab.length, timers: j.timers.length }, c.want, c.name);
  }
});
