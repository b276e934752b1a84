// The sh functions sums and sums_check (src/backup/sums.sh), run for real: with OpenSSL, and with sha256sum as on a
// host without it. Both must print and accept exactly what sha256sum does.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { shellSums } from '../../src/backup/render.js';
import { tempDir } from '../fixtures/tmp.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** Run sh code after the functions, in `dir`; `openssl: false` makes the functions fall back to sha256sum. */
function sh(dir: string, code: string, openssl: boolean, stdin = '') {
  const script = `${shellSums()}\n${openssl ? '' : 'sums_openssl() { false; }\n'}set -eu\ncd "$1"\n${code}\n`;
  return spawnSync('sh', ['-c', script, 'sh', dir], { encoding: 'utf8', input: stdin });
}

for (const openssl of [true, false]) {
  t.test(`sums and sums_check ${openssl ? 'with OpenSSL' : 'with sha256sum (no OpenSSL)'}`, { skip: openssl && !hasOpenssl && 'openssl not installed' }, async (t) => {
    const dir = tempDir('ironclad-sums-');
    writeFileSync(join(dir, 'a.dat'), 'first file\n');
    writeFileSync(join(dir, 'b.dat'), Buffer.alloc(100000, 7));
    const reference = spawnSync('sha256sum', ['a.dat', 'b.dat'], { cwd: dir, encoding: 'utf8' }).stdout;

    const printed = sh(dir, 'sums a.dat b.dat', openssl);
    t.equal(printed.status, 0, printed.stderr);
    t.equal(printed.stdout, reference, 'the same lines as sha256sum');
    t.equal(sh(dir, 'sums', openssl, 'first file\n').stdout.split(' ')[0], reference.split(' ')[0], 'stdin summed when no file is named');
    t.not(sh(dir, 'sums a.dat missing.dat', openssl).status, 0, 'false when a file cannot be read');

    writeFileSync(join(dir, 'SUMS'), reference);
    const good = sh(dir, 'sums_check SUMS', openssl);
    t.equal(good.status, 0, good.stderr);
    t.equal(good.stdout, '', 'nothing printed when every file matches');

    writeFileSync(join(dir, 'b.dat'), Buffer.alloc(100000, 8));
    writeFileSync(join(dir, 'SUMS'), reference + `${'0'.repeat(64)}  gone.dat\n`);
    const bad = sh(dir, 'sums_check SUMS || echo "exit $?"', openssl);
    t.match(bad.stdout, /^b\.dat: FAILED$/m, 'a changed file is named');
    t.match(bad.stdout, /^gone\.dat: FAILED open or read$/m, 'a missing file is named');
    t.notMatch(bad.stdout, /a\.dat/, 'a good file is not');
    t.match(bad.stdout, /^exit 1$/m);

    writeFileSync(join(dir, 'SUMS'), '');
    t.match(sh(dir, 'sums_check SUMS || echo "exit $?"', openssl).stdout, /^exit 1$/m, 'a list of no files checks nothing: false');
  });
}
