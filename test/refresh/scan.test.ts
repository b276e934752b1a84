import t from 'tap';
import { catalogOf, ruleProblems, scanSummary, scanTargets, unpopulated } from '../../src/refresh/scan.js';
import type { ScrubRules } from '../../src/refresh/scrub.js';

// rows as CATALOG_SQL returns them: schema, relation, relkind, column, can it hold text
const CATALOG = catalogOf([
  ['public', 'users', 'r', 'id', 'f'],
  ['public', 'users', 'r', 'email', 't'],
  ['public', 'users', 'r', 'tags', 't'],
  ['crm', 'Contacts', 'r', 'Email', 't'],
  ['crm', 'Contacts', 'r', 'doc', 't'],
  ['crm', 'calls', 'p', 'note', 't'],
  ['crm', 'calls_2026', 'r', 'note', 't'],
  ['public', 'counts', 'r', 'n', 'f'],
  ['public', 'user_emails', 'm', 'email', 't'],
  ['public', 'active', 'v', 'email', 't'],
  ['public', 'later', '-', 'email', 't'],
  ['audit', 'empty', 'r', '', 'f'],
]);

t.test('the scan reads every table with a column that can hold text, in every schema; partitions, not their parent', async (t) => {
  const rules: ScrubRules = { version: 1, tables: { users: { email: { fake: 'email' } } } };
  t.same(scanTargets(rules, CATALOG), [
    { table: 'public.users', columns: ['email', 'tags'] },
    { table: 'crm.Contacts', columns: ['Email', 'doc'] },
    { table: 'crm.calls_2026', columns: ['note'] },
    { table: 'public.user_emails', columns: ['email'] },
  ], 'views are read through their tables; a materialized view not populated yet is scanned once it is; a table without text columns has nothing to scan');
  t.same(unpopulated(CATALOG), ['public.later']);
  const skipping: ScrubRules = { ...rules, verify: { pii_skip: ['crm.Contacts'], pii_scan: ['users'] } };
  t.same(scanTargets(skipping, CATALOG).map((x) => x.table), ['public.users', 'crm.calls_2026', 'public.user_emails'], 'only pii_skip narrows it; pii_scan does not');
  t.match(scanSummary(skipping, CATALOG), /^4 columns of 3 tables in 2 schemas \(skipped by verify\.pii_skip: crm\.Contacts\)$/);
});

t.test('every name in the rules must be in the restored catalog, as PostgreSQL spells it', async (t) => {
  const ok: ScrubRules = { version: 1, tables: { users: { email: { fake: 'email' } }, 'crm.Contacts': { Email: { fake: 'email' } }, 'crm.calls': 'truncate' }, verify: { pii_scan: ['users', 'crm.Contacts'] } };
  t.same(ruleProblems(ok, CATALOG), []);
  const bad: ScrubRules = { version: 1, tables: { usres: 'truncate', 'crm.contacts': { Email: { fake: 'email' } }, users: { Email: { fake: 'email' }, nick: { set: null } }, user_emails: 'truncate' }, verify: { pii_scan: ['orders'], pii_skip: ['Users'] } };
  t.same(ruleProblems(bad, CATALOG), [
    'tables.usres: no table public.usres in the restored database',
    'tables.crm.contacts: no table crm.contacts in the restored database (did you mean crm.Contacts? names are case-sensitive, schema.table)',
    'tables.users.Email: public.users has no column Email (did you mean email?)',
    'tables.users.nick: public.users has no column nick',
    'tables.user_emails: no table public.user_emails in the restored database (did you mean user_emails? names are case-sensitive, schema.table)',
    'verify.pii_scan: no table public.orders in the restored database',
    'verify.pii_skip: no table public.Users in the restored database (did you mean users? names are case-sensitive, schema.table)',
  ]);
});
