// A YAML file parsed with source positions, so any field path can be turned into a line and column.
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { PathSegment, Problem } from './problems.js';
import { formatPath } from './problems.js';

export interface Source {
  file: string;
  data: unknown;
  /** Position of the value at path (or its key when `key` is set), falling back to the nearest existing parent. */
  locate(path: PathSegment[], key?: boolean): { line: number; col: number };
  /** A problem at a path, positioned. */
  problem(path: PathSegment[], message: string, key?: boolean): Problem;
}

/** Parse YAML text; syntax errors come back as problems with positions. */
export function parseSource(file: string, text: string): { source: Source; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = (offset: number) => lineCounter.linePos(offset);
  const problems: Problem[] = doc.errors.map((e) => {
    const { line, col } = pos(e.pos[0]);
    return { file, line, col, path: '(yaml)', message: yamlMessage(e.code, e.message) };
  });
  const locate = (path: PathSegment[], key = false) => {
    let node: Node | null | undefined = doc.contents as Node | null;
    let keyNode: Node | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) == seg);
        if (!pair) break;
        keyNode = pair.key as Node;
        node = pair.value as Node | null;
        if (node === null) { node = keyNode; }
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        keyNode = undefined;
        node = node.items[seg] as Node;
      } else break;
    }
    const target = key && keyNode ? keyNode : node;
    const offset = target?.range?.[0] ?? 0;
    return pos(offset);
  };
  const source: Source = {
    file,
    data: problems.length ? undefined : doc.toJS({ maxAliasCount: 100 }),
    locate,
    problem(path, message, key = false) {
      const { line, col } = locate(path, key);
      return { file, line, col, path: formatPath(path), message };
    },
  };
  return { source, problems };
}

/** Read and parse a YAML file; an unreadable file is one problem. */
export function readSource(file: string): { source: Source; problems: Problem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e: any) {
    const problem = { file, line: 1, col: 1, path: '(file)', message: `cannot read file (${e.code ?? e.message})` };
    return { source: parseSource(file, '').source, problems: [problem] };
  }
  return parseSource(file, text);
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `${first} (a name may appear only once)`;
  return `invalid YAML: ${first}`;
}
