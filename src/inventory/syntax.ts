// YAML syntax errors turned into problems a person can act on: the right line, the field path when there is one, and what to do.
import { isMap, isScalar, isSeq, Scalar, type Document, type Node, type YAMLError } from 'yaml';
import type { PathSegment, Problem } from './problems.js';
import { formatPath } from './problems.js';

type Position = (offset: number) => { line: number; col: number };

/** One YAML error as a positioned problem (without the file). */
export function syntaxProblem(doc: Document, e: YAMLError, pos: Position): Omit<Problem, 'file'> {
  const offset = e.pos[0];
  if (e.code === 'DUPLICATE_KEY') {
    const dup = findEntry(doc, (n) => n.key?.range?.[0] === offset);
    if (dup) return { ...pos(offset), path: formatPath(dup.path), message: duplicateMessage(dup, pos) };
  }
  const unclosed = unclosedAt(doc, offset);
  if (unclosed) return { ...pos(unclosed.node.range![0]), path: formatPath(unclosed.path), message: unclosed.message };
  return { ...pos(offset), path: '(yaml)', message: `invalid YAML: ${hintFor(e)}` };
}

interface Entry {
  path: PathSegment[];
  node: Node;
  /** The key node when the entry is a map value. */
  key?: Node;
  /** Earlier keys of the same map (for duplicates). */
  siblings: Node[];
}

/** The deepest map/sequence entry matching a predicate (the innermost of nested matches). */
function deepestEntry(doc: Document, match: (e: Entry) => boolean): Entry | undefined {
  let found: Entry | undefined;
  findEntry(doc, (e) => {
    if (match(e)) found = e;
    return false;
  });
  return found;
}

/** Depth-first search for the first map/sequence entry matching a predicate. */
function findEntry(doc: Document, match: (e: Entry) => boolean): Entry | undefined {
  const walk = (node: unknown, path: PathSegment[]): Entry | undefined => {
    if (isMap(node)) {
      const keys: Node[] = [];
      for (const pair of node.items) {
        const key = pair.key as Node;
        const seg = isScalar(key) ? String(key.value) : String(key);
        const entry: Entry = { path: [...path, seg], node: (pair.value as Node) ?? key, key, siblings: [...keys] };
        if (match(entry)) return entry;
        keys.push(key);
        const inner = walk(pair.value, entry.path);
        if (inner) return inner;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const entry: Entry = { path: [...path, i], node: item as Node, siblings: [] };
        if (match(entry)) return entry;
        const inner = walk(item, entry.path);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  const top: Entry = { path: [], node: doc.contents as Node, siblings: [] };
  return doc.contents && match(top) ? top : walk(doc.contents, []);
}

function duplicateMessage(dup: Entry, pos: Position): string {
  const name = dup.path[dup.path.length - 1];
  const first = dup.siblings.find((k) => isScalar(k) && String(k.value) === name);
  const where = first?.range ? ` (first at line ${pos(first.range[0]).line})` : '';
  const parent = dup.path.slice(0, -1);
  if (parent.length === 1 && parent[0] === 'hosts')
    return `host '${name}' is defined twice${where}; each host needs its own name: rename one or merge them`;
  return `'${name}' appears twice in ${formatPath(parent)}${where}; a key may appear only once: remove or merge one`;
}

/** A flow collection or quoted string that runs to the error because it was never closed: point at where it opens. */
function unclosedAt(doc: Document, offset: number): { node: Node; path: PathSegment[]; message: string } | undefined {
  const hit = deepestEntry(doc, (e) => {
    const n = e.node;
    if (!n?.range || n.range[1] !== offset) return false;
    return ((isMap(n) || isSeq(n)) && n.flow === true) || (isScalar(n) && (n.type === Scalar.QUOTE_DOUBLE || n.type === Scalar.QUOTE_SINGLE));
  });
  if (!hit) return undefined;
  const n = hit.node;
  const message = isScalar(n)
    ? `invalid YAML: the ${n.type === Scalar.QUOTE_DOUBLE ? 'double' : 'single'} quote opened here is never closed; add the closing ${n.type === Scalar.QUOTE_DOUBLE ? '"' : "'"}`
    : `invalid YAML: the '${isSeq(n) ? '[' : '{'}' opened here is never closed; close it with '${isSeq(n) ? ']' : '}'}'`;
  return { node: n, path: hit.path, message };
}

function hintFor(e: YAMLError): string {
  const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (e.code) {
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; YAML indents with spaces only (replace the tab with spaces)';
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return `${first}: is a ':' missing after a key on this line? Write 'key: value'`;
    case 'BAD_INDENT':
      return `${first} (indent this line like the other fields of the same section)`;
    case 'MULTIPLE_DOCS':
      return "the file holds more than one YAML document ('---'); keep a single document";
    default:
      return first;
  }
}
