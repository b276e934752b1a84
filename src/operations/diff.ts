// A small line diff for rendered files shown in plans (LCS; the files ironclad renders are short).
import type { Change } from './types.js';

type Op = { sign: ' ' | '+' | '-'; line: string };

function diffOps(a: string[], b: string[]): Op[] {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) ops.push({ sign: ' ', line: a[i++] }), j++;
    else if (i < a.length && (j >= b.length || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push({ sign: '-', line: a[i++] });
    else ops.push({ sign: '+', line: b[j++] });
  }
  return ops;
}

/** Diff of a file's current and rendered text: changed lines with two lines of context; '' when equal. */
export function lineDiff(before: string | null, after: string, path: string, context = 2): string {
  if (before === after) return '';
  const split = (t: string) => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));
  const ops = diffOps(before === null ? [] : split(before), split(after));
  const near = (k: number) => ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.sign !== ' ');
  const out = [`--- ${before === null ? '/dev/null' : path}`, `+++ ${path}`];
  let skipped = false;
  ops.forEach((o, k) => {
    if (o.sign !== ' ' || near(k)) {
      if (skipped) out.push('  ...');
      out.push(`${o.sign} ${o.line}`);
      skipped = false;
    } else skipped = true;
  });
  return out.join('\n');
}

/** Install or update a rendered file: the change (with its diff, cut at 4000 characters) or undefined when it is as wanted. */
export function fileChange(operation: string, path: string, current: string | null | undefined, content: string, mode: string, what: string): Change | undefined {
  current = current ?? null;
  const diff = lineDiff(current, content, path);
  if (!diff) return undefined;
  return { operation, description: `${current === null ? 'install' : 'update'} ${what} (${path})`, diff: diff.length > 4000 ? `${diff.slice(0, 4000)}\n  ... (diff cut)` : diff, commands: [{ kind: 'upload', path, content, mode }] };
}
