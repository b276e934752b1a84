import t from 'tap';
import { identityFact, parseIdentity, parseProductionMarker, productionMarkerFact } from '../../src/facts/identity.js';
import { fixture, section } from '../fixtures/facts/load.js';

t.test('identity file cases', async (t) => {
  t.same(parseIdentity(undefined), { state: 'absent' });
  const arr = parseIdentity(fixture('identity-array.json'));
  t.equal(arr.state, 'present');
  if (arr.state === 'present') {
    t.same(arr.identities.map((i) => [i.cluster, i.port, i.system_identifier]), [
      ['main', 5432, '7312345678901234567'],
      ['reports', 5433, '7398765432109876543'],
    ], 'system identifiers written as bare numbers stay exact');
  }
  const obj = parseIdentity(fixture('identity-object.json'));
  t.match(obj, { state: 'present', identities: [{ data_directory: '/srv/pg data/15/main', version: 15, pinned_at: '2024-01-02T03:04:05Z' }] });
  t.match(parseIdentity(fixture('identity-incomplete.json')), { state: 'invalid', error: /entry 0: missing or invalid data_directory, system_identifier, pinned_at/ });
  t.match(parseIdentity(fixture('identity-truncated.json')), { state: 'invalid', error: /not JSON/ });
  t.match(parseIdentity('[1]'), { state: 'invalid', error: /entry 0 is not an object/ });
  t.match(parseIdentity(''), { state: 'invalid' }, 'an empty file is not an absent file');
});

t.test('identity and marker facts read part `file`', async (t) => {
  t.same(identityFact.parse(section('identity', '')), { state: 'absent' });
  t.equal(identityFact.parse(section('identity', '', [{ name: 'file', text: fixture('identity-object.json') }])).state, 'present');
  t.same(productionMarkerFact.parse(section('production_marker', '')), { present: false });
  t.same(productionMarkerFact.parse(section('production_marker', '', [{ name: 'file', text: 'db-prod\n' }])), { present: true, content: 'db-prod' });
  t.same(parseProductionMarker(''), { present: true, content: '' }, 'an empty marker still marks');
});
