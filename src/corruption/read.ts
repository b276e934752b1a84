// Reading a host's integrity facts for the runbooks, in one round trip (the same fact commands the audit runs).
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { corruptionFact, type ClusterCorruption } from '../facts/corruption.js';
import { integrityFact, type IntegrityFact } from '../facts/integrity.js';
import { buildFactScript, newNonce, splitSections } from '../facts/script.js';

/** The host's `integrity` and `corruption` facts; a script that did not run is an error naming the host. */
export async function readIntegrity(conn: Connector): Promise<{ integrity: IntegrityFact; corruption: ClusterCorruption[] }> {
  const nonce = newNonce();
  const r = await conn.run(buildFactScript([{ name: 'integrity', command: integrityFact.command }, { name: 'corruption', command: corruptionFact.command }], nonce));
  const sections = splitSections(r.stdout, nonce);
  const i = sections.get('integrity');
  const c = sections.get('corruption');
  if (!i || !c) throw new OperationError(`${conn.host}: reading its integrity facts failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return { integrity: i.code === 127 ? integrityFact.absent() : integrityFact.parse(i), corruption: c.code === 127 ? [] : corruptionFact.parse(c) };
}
