// What is damaged on a host, pure: every relation and block the cluster and the amcheck job named, and since when.
import { sqlIdent } from '../core/quote.js';
import { fileNode, type ClusterCorruption } from '../facts/corruption.js';
import type { IntegrityFact } from '../facts/integrity.js';

/** One damaged place, as precise as the evidence allows. */
export interface Damage {
  /** Where it was seen: the checksum counter, the server log, or the amcheck job. */
  source: 'counter' | 'log' | 'amcheck';
  database: string | null;
  /** `"schema"."relation"` quoted, or pg_amcheck's `db.schema.relation` as it printed it (JSON-quoted), or a file. */
  relation: string | null;
  kind: 'table' | 'index' | 'other' | null;
  block: number | null;
  time: string | null;
}

const KIND: Record<string, Damage['kind']> = { r: 'table', t: 'table', m: 'table', p: 'table', i: 'index', I: 'index' };

/** Pure: every damage the facts show since the last recorded repair, and the earliest time it was seen. */
export function assessDamage(integrity: IntegrityFact, clusters: ClusterCorruption[]): { damage: Damage[]; since: string | null } {
  const after = (t: string | null) => integrity.cleared === null || t === null || t > integrity.cleared;
  const out: Damage[] = [];
  for (const c of clusters) {
    for (const x of c.counters ?? []) if ((x.failures ?? 0) > 0 && after(x.last)) out.push({ source: 'counter', database: x.database, relation: null, kind: null, block: null, time: x.last });
    for (const h of c.log.filter((h) => after(h.time))) {
      const node = fileNode(h.path);
      const rel = node && c.relations.find((r) => r.dboid === node.dboid && r.filenode === node.filenode);
      if (!rel && !h.path) continue; // a checksum warning: its ERROR line names the file
      const d: Damage = rel
        ? { source: 'log', database: rel.database, relation: `${sqlIdent(rel.schema)}.${sqlIdent(rel.relation)}`, kind: KIND[rel.kind] ?? 'other', block: h.block, time: h.time }
        : { source: 'log', database: null, relation: `file ${h.path}`, kind: null, block: h.block, time: h.time };
      if (!out.some((o) => o.source === 'log' && o.relation === d.relation && o.database === d.database && o.block === d.block)) out.push(d);
    }
  }
  if (integrity.last?.state === 'corrupt' && after(integrity.last.started))
    for (const f of integrity.findings) {
      const database = f.relation.split('.')[0] ?? null;
      out.push({ source: 'amcheck', database, relation: JSON.stringify(f.relation), kind: f.kind === 'index' ? 'index' : 'table', block: f.block, time: integrity.last.started });
    }
  const since = out.map((d) => d.time).filter((t): t is string => t !== null).sort()[0] ?? null;
  return { damage: out, since };
}

/** One line per damage for the operator. */
export function damageText(d: Damage): string {
  const what = d.relation ? `${d.kind ?? 'relation'} ${d.relation}` : 'pages';
  return `${what}${d.database !== null ? ` in database ${sqlIdent(d.database)}` : ''}${d.block !== null ? `, block ${d.block}` : ''} (${d.source}${d.time ? `, ${d.time}` : ''})`;
}
