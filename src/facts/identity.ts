// The `identity` and `production_marker` facts: what ironclad itself left on a host at provisioning.
import { HOST_PATHS } from '../core/host-paths.js';
import { shq } from '../core/quote.js';
import { partText } from './text.js';
import type { FactDef, IdentityFact, PinnedIdentity, ProductionMarkerFact } from './types.js';

/** The pinned cluster identities of a host (written by provisioning, read by destructive steps). */
export const IDENTITY_FILE = HOST_PATHS.identity;
/** Present on production hosts only; refresh and restore refuse to write over a host that has it. */
export const PRODUCTION_MARKER_FILE = HOST_PATHS.productionMarker;

/** A command printing a (small) file in part `file` when it exists, nothing otherwise. */
function fileCommand(path: string): string {
  return `if [ -e ${shq(path)} ]; then ic_part file; ic_cat ${shq(path)}; fi`;
}

/** A non-empty string field, else null. */
function textField(e: Record<string, unknown>, k: string): string | null {
  return typeof e[k] === 'string' && e[k] !== '' ? e[k] : null;
}

/** A non-negative integer field, written as a number or as digits, else null. */
function intField(e: Record<string, unknown>, k: string): number | null {
  return /^\d+$/.test(String(e[k])) && Number.isSafeInteger(Number(e[k])) ? Number(e[k]) : null;
}

/** Check one entry's fields; the reason when it is not a pinned identity. */
function toIdentity(raw: unknown, at: string): PinnedIdentity | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return `${at} is not an object`;
  const e = raw as Record<string, unknown>;
  const id = {
    cluster: textField(e, 'cluster'),
    version: intField(e, 'version'),
    port: intField(e, 'port'),
    data_directory: textField(e, 'data_directory'),
    system_identifier: /^\d+$/.test(String(e.system_identifier)) ? String(e.system_identifier) : null,
    pinned_at: textField(e, 'pinned_at'),
  };
  const missing = Object.entries(id).filter(([, v]) => v === null).map(([k]) => k);
  return missing.length > 0 ? `${at}: missing or invalid ${missing.join(', ')}` : (id as PinnedIdentity);
}

/** Parse identity.json (an array, or one object); system identifiers kept exact even when written as bare numbers. */
export function parseIdentity(text: string | undefined): IdentityFact {
  if (text === undefined) return { state: 'absent' };
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/("system_identifier"\s*:\s*)(\d+)/g, '$1"$2"'));
  } catch (e) {
    return { state: 'invalid', error: `${IDENTITY_FILE} is not JSON: ${(e as Error).message}` };
  }
  const entries = Array.isArray(data) ? data : [data];
  const identities: PinnedIdentity[] = [];
  for (const [i, raw] of entries.entries()) {
    const r = toIdentity(raw, Array.isArray(data) ? `entry ${i}` : 'the object');
    if (typeof r === 'string') return { state: 'invalid', error: `${IDENTITY_FILE}: ${r}` };
    identities.push(r);
  }
  return { state: 'present', identities };
}

/** Parse the production marker: present with its content (trimmed), or absent. */
export function parseProductionMarker(text: string | undefined): ProductionMarkerFact {
  return text === undefined ? { present: false } : { present: true, content: text.trim() };
}

/** Reads identity.json when it exists. */
export const identityFact: FactDef<IdentityFact> = {
  name: 'identity',
  tool: null,
  command: fileCommand(IDENTITY_FILE),
  parse: (section) => parseIdentity(partText(section, 'file')),
  absent: () => ({ state: 'absent' }),
};

/** Reads the production marker when it exists. */
export const productionMarkerFact: FactDef<ProductionMarkerFact> = {
  name: 'production_marker',
  tool: null,
  command: fileCommand(PRODUCTION_MARKER_FILE),
  parse: (section) => parseProductionMarker(partText(section, 'file')),
  absent: () => ({ present: false }),
};
