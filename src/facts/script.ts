// One SSH round trip for many facts: the fact commands joined into one POSIX sh script with marker lines, and the pure splitter back.
import { randomBytes } from 'node:crypto';
import type { Part, Section } from './types.js';

/** A command to run as one section of the combined script. */
export interface SectionCommand {
  name: string;
  command: string;
}

/** A fresh marker nonce: command output cannot forge a marker it cannot guess. */
export function newNonce(): string {
  return randomBytes(9).toString('hex');
}

/** The marker prefix of every delimiter line for this nonce. */
export function markerOf(nonce: string): string {
  return `@@ironclad-facts:${nonce}`;
}

/**
 * The combined script. Each section's stdout goes between `M begin NAME` and `M end NAME CODE`, its stderr follows
 * the end line; `ic_part NAME` inside a command opens a named part of its stdout, `ic_cat FILE` prints a small text file
 * without a process. Each section runs in the subshell of its command substitution (its `exit` ends only itself).
 */
export function buildFactScript(sections: SectionCommand[], nonce: string): string {
  const m = markerOf(nonce);
  const head = [
    `ic_m='${m}'`,
    `ic_part() { printf '\\n%s part %s\\n' "$ic_m" "$1"; }`,
    // ic_cat FILE: a small text file's lines (a last line without newline gets one), with builtins: no process
    `ic_cat() { [ -r "$1" ] || return 1; while IFS= read -r ic_l || [ -n "$ic_l" ]; do printf '%s\\n' "$ic_l"; done <"$1"; }`,
    'exec 3>&1',
  ];
  const body = sections.map(({ name, command }) => {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`bad fact section name '${name}'`);
    return [
      `printf '%s begin %s\\n' "$ic_m" ${name}`,
      `ic_err=$( { ${command.trim()}\n} </dev/null 2>&1 1>&3 ); ic_rc=$?`,
      `printf '\\n%s end %s %s\\n' "$ic_m" ${name} "$ic_rc"`,
      `printf '%s\\n' "$ic_err"`,
    ].join('\n');
  });
  return [...head, ...body, ''].join('\n');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Split a section's stdout at its part markers. */
function splitParts(stdout: string, marker: string): { head: string; parts: Part[] } {
  const re = new RegExp(`\\n${escapeRe(marker)} part ([^\\n]*)\\n`, 'g');
  const pieces: { name: string | null; start: number; end: number }[] = [];
  let last = { name: null as string | null, start: 0 };
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) {
    pieces.push({ ...last, end: m.index });
    last = { name: m[1], start: m.index + m[0].length };
  }
  pieces.push({ ...last, end: stdout.length });
  const [first, ...rest] = pieces;
  return {
    head: stdout.slice(first.start, first.end),
    parts: rest.map((p) => ({ name: p.name ?? '', text: stdout.slice(p.start, p.end) })),
  };
}

/** Map the combined output back to sections by name; a section cut short (no end line) is left out. */
export function splitSections(output: string, nonce: string): Map<string, Section> {
  const m = markerOf(nonce);
  const re = new RegExp(`(?:^|\\n)${escapeRe(m)} begin ([a-z_]+)\\n|\\n${escapeRe(m)} end ([a-z_]+) (\\d+)\\n`, 'g');
  const sections = new Map<string, Section>();
  let open: { name: string; start: number } | null = null;
  let closed: { section: Section; start: number } | null = null;
  const closeStderr = (end: number): void => {
    if (closed) closed.section.stderr = output.slice(closed.start, end).replace(/\n$/, '');
    closed = null;
  };
  for (let hit = re.exec(output); hit; hit = re.exec(output)) {
    if (hit[1] !== undefined) {
      closeStderr(hit.index);
      open = { name: hit[1], start: hit.index + hit[0].length };
    } else if (open && hit[2] === open.name) {
      const { head, parts } = splitParts(output.slice(open.start, hit.index), m);
      const section: Section = { name: open.name, code: Number(hit[3]), stdout: head, parts, stderr: '' };
      sections.set(section.name, section);
      closed = { section, start: hit.index + hit[0].length };
      open = null;
    }
  }
  closeStderr(output.length);
  return sections;
}
