import t from 'tap';
import { scramMatches, scramVerifier } from '../../src/operations/scram.js';

t.test('a verifier matches its own password and no other', async (t) => {
  const v = scramVerifier('s3cret');
  t.match(v, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  t.ok(scramMatches(v, 's3cret'));
  t.notOk(scramMatches(v, 's3cret '));
  t.notOk(scramMatches('md5abcdef', 's3cret'));
  t.notOk(scramMatches('', 's3cret'));
});

t.test('same salt and iterations give the same verifier', async (t) => {
  const salt = Buffer.from('0123456789abcdef');
  t.equal(scramVerifier('pw', salt, 4096), scramVerifier('pw', salt, 4096));
  t.not(scramVerifier('pw', salt, 4096), scramVerifier('pw', salt, 4097));
});
