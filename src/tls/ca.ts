// The estate's CA on the controller: made once by ironclad (or provided by the inventory), its key never leaving here.
import { createPrivateKey, createPublicKey, randomBytes, type X509Certificate } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../core/errors.js';
import type { EstateTls } from '../inventory/types.js';
import { loadCert } from '../core/x509.js';
import { openssl } from './openssl.js';

/** The CA lives this long (the hosts' certificates are renewed far more often). */
export const CA_DAYS = 3650;

/** A usable CA: its certificate (public, shown and shipped) and where its key is (read only by openssl). */
export interface EstateCa {
  cert: X509Certificate;
  pem: string;
  certFile: string;
  keyFile: string;
}

/** The files of the estate's CA, whichever kind. */
export function caFiles(estate: EstateTls): { cert: string; key: string } {
  return estate.ca.kind === 'managed' ? { cert: join(estate.ca.dir, 'ca.crt'), key: join(estate.ca.dir, 'ca.key') } : { cert: estate.ca.cert, key: estate.ca.key };
}

/** Where the CA is, in words, for plans and errors. */
export function caWhere(estate: EstateTls): string {
  return estate.ca.kind === 'managed' ? `the estate's CA in ${estate.ca.dir}` : `the CA of the inventory (${estate.ca.cert})`;
}

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Check and load a CA from its files: a CA certificate, a key only its owner can read, and the key is the certificate's. */
function readCa(files: { cert: string; key: string }, field: string): EstateCa {
  let pem: string;
  try {
    pem = readFileSync(files.cert, 'utf8');
  } catch (e) {
    throw new UserError(`${field}: the CA certificate ${files.cert} cannot be read (${(e as NodeJS.ErrnoException).code})`, 'name an existing PEM file');
  }
  const cert = loadCert(pem);
  if (!cert) throw new UserError(`${field}: ${files.cert} is not a PEM certificate`, 'name the CA certificate (PEM)');
  if (!cert.ca) throw new UserError(`${field}: ${files.cert} is not a CA certificate (basicConstraints CA:FALSE)`, 'name the certificate of a CA');
  let mode: number;
  try {
    mode = statSync(files.key).mode;
  } catch (e) {
    throw new UserError(`${field}: the CA key ${files.key} cannot be read (${(e as NodeJS.ErrnoException).code})`, 'name the CA key (PEM, unencrypted, mode 0600)');
  }
  if (mode & 0o077) throw new UserError(`${field}: the CA key ${files.key} can be read by others (mode ${(mode & 0o777).toString(8)})`, `chmod 600 ${files.key}`);
  let matches = false;
  try {
    const der = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
    matches = der(createPublicKey(createPrivateKey(readFileSync(files.key)))).equals(der(cert.publicKey));
  } catch {
    throw new UserError(`${field}: ${files.key} is not an unencrypted PEM private key`, 'give ironclad the CA key without a passphrase, mode 0600');
  }
  if (!matches) throw new UserError(`${field}: ${files.key} is not the key of ${files.cert}`, 'name the matching key');
  return { cert, pem: pem.replace(/\r/g, ''), certFile: files.cert, keyFile: files.key };
}

const field = (estate: EstateTls) => (estate.ca.kind === 'managed' ? 'tls.ca.dir' : 'tls.ca');

/** The estate's CA when it exists; null for a managed CA not made yet (a provided one must exist). Read-only. */
export function loadCa(estate: EstateTls): EstateCa | null {
  const files = caFiles(estate);
  if (estate.ca.kind === 'managed' && !exists(files.cert) && !exists(files.key)) return null;
  return readCa(files, field(estate));
}

/** Set a file's mode and make it durable. */
function seal(path: string, mode: number): void {
  chmodSync(path, mode);
  const fd = openSync(path, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

/** The estate's CA, made once when it is managed and absent: a P-256 key and a self-signed CA certificate made in a
 *  private folder beside the final one, fsynced, then renamed into place (a concurrent maker's CA wins, ours is dropped). */
export async function ensureCa(estate: EstateTls): Promise<EstateCa> {
  const found = loadCa(estate);
  if (found) return found;
  if (estate.ca.kind !== 'managed') throw new Error('unreachable: a provided CA is loaded or refused');
  const dir = estate.ca.dir;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(dir), `.${basename(dir)}.new-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(tmp, 'ca.key')]);
    const serial = `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`;
    const subject = `/O=ironclad/CN=ironclad estate CA ${randomBytes(4).toString('hex')}`;
    await openssl(['req', '-new', '-x509', '-key', join(tmp, 'ca.key'), '-sha256', '-days', String(CA_DAYS), '-set_serial', serial, '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash', '-out', join(tmp, 'ca.crt')]);
    seal(join(tmp, 'ca.key'), 0o600);
    seal(join(tmp, 'ca.crt'), 0o644);
    // nothing here belongs in a repository (the key above all): the folder ignores itself
    writeFileSync(join(tmp, '.gitignore'), '*\n');
    seal(join(tmp, '.gitignore'), 0o644);
    fsyncDir(tmp);
    try {
      renameSync(tmp, dir);
      fsyncDir(dirname(dir));
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return readCa(caFiles(estate), field(estate));
}
