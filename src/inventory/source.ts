// A YAML file parsed with source positions, so any field path can be turned into a line and column.
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { PathSegment, Problem } from './problems.js';
import { formatPath } from './problems.js';
import { syntaxProblem } from './syntax.js';

export interface Source {
  file: string;
  /** The parsed document; undefined when the YAML could not be read (then `problems` say why). */
  data: unknown;
  /** Position of the value at path (or its key when `key` is set), falling back to the nearest existing parent. */
  locate(path: PathSegment[], key?: boolean): { line: number; col: number };
  /** A problem at a path, positioned. */
  problem(path: PathSegment[], message: string, key?: boolean): Problem;
}

/** Errors after which the document still means what it says (a repeated key): validation goes on, to report everything at once. */
const recoverable = new Set(['DUPLICATE_KEY']);

/** Parse YAML text; syntax errors come back as problems with positions. */
export function parseSource(file: string, text: string): { source: Source; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  // one mistake can upset the parser twice (an unclosed quote also leaves its '{' open): report it once
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    const p = { file, ...syntaxProblem(doc, e, pos) };
    if (!problems.some((q) => q.line === p.line && q.col === p.col && q.message === p.message)) problems.push(p);
  }
  const fatal = doc.errors.some((e) => !recoverable.has(e.code));
  const locate = (path: PathSegment[], key = false) => {
    const target = nodeAt(doc, path, key);
    return pos(target?.range?.[0] ?? 0);
  };
  const source: Source = {
    file,
    data: fatal ? undefined : doc.toJS({ maxAliasCount: 100 }),
    locate,
    problem(path, message, key = false) {
      const { line, col } = locate(path, key);
      return { file, line, col, path: formatPath(path), message };
    },
  };
  return { source, problems };
}

/** The node at a path (its key node when `key` is set), or the nearest existing parent. A repeated key resolves to its last occurrence, as in the data. */
function nodeAt(doc: Document, path: PathSegment[], key: boolean): Node | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      let pair: (typeof node.items)[number] | undefined;
      for (let i = node.items.length - 1; i >= 0 && !pair; i--) {
        const p = node.items[i];
        if (isPair(p) && (isScalar(p.key) ? p.key.value : p.key) == seg) pair = p;
      }
      if (!pair) break;
      keyNode = pair.key as Node;
      const value = pair.value as Node | null;
      // an empty value (`empty:`) has no text of its own: its key is where to look
      node = value && !(isScalar(value) && value.value === null && value.range?.[0] === value.range?.[1]) ? value : keyNode;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      keyNode = undefined;
      node = node.items[seg] as Node;
    } else break;
  }
  return (key && keyNode ? keyNode : node) ?? undefined;
}

/** Read and parse a YAML file; an unreadable file is one problem. */
export function readSource(file: string): { source: Source; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    const problem = { file, line: 1, col: 1, path: '(file)', message: `cannot read file: ${readFailure(e)}` };
    return { source: { ...parseSource(file, '').source, data: undefined }, problems: [problem] };
  }
  return parseSource(file, text);
}

function readFailure(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'it does not exist (check the path)';
    case 'EACCES':
      return 'permission denied (check the file mode and owner)';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return e.code ?? e.message;
  }
}
