// Gather facts of one host in one round trip: build the script, run it through the connector, parse each section.
import type { Connector } from '../connectors/types.js';
import { OperationError } from '../core/errors.js';
import { mask } from '../core/secrets.js';
import { FACTS_TIMEOUT_MS } from '../core/timeouts.js';
import { factDefs, FACT_NAMES } from './registry.js';
import { buildFactScript, newNonce, splitSections, type SectionCommand } from './script.js';
import type { ArgFact, FactDef, FactName, FactProblem, FactValues, HostFacts, Section } from './types.js';

/** Exit code of a fact command whose tool is not installed. */
export const ABSENT_CODE = 127;

/** The combined script for some facts (all by default), and the sections of facts that take arguments. */
export function factScript(names: readonly FactName[], nonce: string, extra: SectionCommand[] = []): string {
  return buildFactScript([...names.map((name) => ({ name, command: factDefs[name].command })), ...extra], nonce);
}

/** A fact that takes arguments, with them: gathered beside the named facts. */
export interface ArgFactCall<A, T> {
  fact: ArgFact<A, T>;
  args: A;
}

/** The sections of an argument fact as they go into the script (prefixed with its name) and back out of it. */
function argSections<A, T>(call: ArgFactCall<A, T>): SectionCommand[] {
  return call.fact.sections(call.args).map((s) => ({ name: `${call.fact.name}__${s.name}`, command: s.command }));
}

function argValue<A, T>(call: ArgFactCall<A, T>, sections: Map<string, Section>): T {
  const prefix = `${call.fact.name}__`;
  return call.fact.parse(new Map([...sections].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v])));
}

type Outcome<T> = { value: T; absent: boolean; problem?: FactProblem };

/** One fact's value from its section: default when absent or missing; parse anything else, noting a failing exit. */
function interpret<T>(def: FactDef<T>, section: Section | undefined): Outcome<T> {
  if (!section) return { value: def.absent(), absent: false, problem: { kind: 'missing', fact: def.name } };
  if (section.code === ABSENT_CODE) return { value: def.absent(), absent: true };
  const problem: FactProblem | undefined =
    section.code !== 0 ? { kind: 'exit', fact: def.name, code: section.code, stderr: mask(section.stderr.slice(-2000)) } : undefined;
  try {
    return { value: def.parse(section), absent: false, problem };
  } catch (e) {
    return { value: def.absent(), absent: false, problem: { kind: 'parse', fact: def.name, message: (e as Error).message } };
  }
}

/** Pure: the facts of a host from the combined script's stdout. */
export function parseFactOutput<N extends FactName>(host: string, names: readonly N[], output: string, nonce: string): HostFacts<N> {
  return factsOfSections(host, names, splitSections(output, nonce));
}

/** The named facts from the script's sections, split once. */
function factsOfSections<N extends FactName>(host: string, names: readonly N[], sections: Map<string, Section>): HostFacts<N> {
  const facts: Partial<FactValues> = {};
  const absent: N[] = [];
  const problems: FactProblem[] = [];
  for (const name of names) {
    const out = interpret<FactValues[N]>(factDefs[name] as FactDef<FactValues[N]>, sections.get(name));
    facts[name] = out.value;
    if (out.absent) absent.push(name);
    if (out.problem) problems.push(out.problem);
  }
  return { host, facts: facts as Pick<FactValues, N>, absent, problems };
}

/** How long the facts script may take on one host before what it printed so far is used. */
export { FACTS_TIMEOUT_MS };

/** Gather facts (all by default) with one `conn.run`; a script that never ran throws, a failed fact is a problem. */
export async function gatherFacts<N extends FactName = FactName>(conn: Connector, names?: readonly N[], opts: { timeoutMs?: number } = {}): Promise<HostFacts<N>> {
  return (await gather(conn, (names ?? FACT_NAMES) as readonly N[], undefined, opts)).facts;
}

/** The named facts and one fact that takes arguments, in the same single round trip. */
export async function gatherFactsWith<N extends FactName, A, T>(conn: Connector, names: readonly N[], call: ArgFactCall<A, T>, opts: { timeoutMs?: number } = {}): Promise<{ facts: HostFacts<N>; value: T }> {
  const out = await gather(conn, names, call, opts);
  return { facts: out.facts, value: out.value as T };
}

async function gather<N extends FactName, A, T>(conn: Connector, wanted: readonly N[], call: ArgFactCall<A, T> | undefined, opts: { timeoutMs?: number }): Promise<{ facts: HostFacts<N>; value?: T }> {
  const nonce = newNonce();
  const result = await conn.run(factScript(wanted, nonce, call ? argSections(call) : []), { timeoutMs: opts.timeoutMs ?? FACTS_TIMEOUT_MS });
  const sections = splitSections(result.stdout, nonce);
  const facts = factsOfSections(conn.host, wanted, sections);
  if (sections.size === 0 && (wanted.length > 0 || call)) {
    const tail = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new OperationError(mask(`${conn.host}: gathering facts failed (exit ${result.code})${tail ? `: ${tail}` : ''}`));
  }
  return { facts, value: call ? argValue(call, sections) : undefined };
}
