// The single-instance gate for jobs that run on a database host (the backup job): census.sh as a shell
// function plus `ironclad_gate`, which refuses (exit 3, problems on stderr) unless the host is clean.
import { shq } from '../core/quote.js';
import type { Host } from '../inventory/types.js';
import { censusArgs, expectedClusters } from './expect.js';
import { censusScript } from './script.js';

/** Exit code of the gate when the census found problems (DESIGN.md: refused for safety). */
export const GATE_REFUSED = 3;
/** Exit code of the gate when the census itself could not run or finish. */
export const GATE_FAILED = 1;

const TAB = '\t';

/**
 * POSIX sh text defining `ironclad_census` (census.sh in a subshell function) and `ironclad_gate` for a host.
 * Embed it in a job and call `ironclad_gate` before touching the database; run the job as root so that no
 * process or data directory is hidden from the census. `ironclad_gate` returns 0 when exactly the inventory's
 * clusters run with their pinned identities. Otherwise it prints the problems on stderr and exits the job:
 * 3 for problems, 1 when the census could not run. Before exiting it sets IRONCLAD_GATE_PROBLEMS (one problem
 * a line) for the job's EXIT trap, e.g. to run the alert command. `extraArgs` go to census.sh as well
 * (`--data-root DIR` for clusters outside /var/lib/postgresql; tests pass a recorded `--proc`).
 */
export function gateScript(host: Host, extraArgs: string[] = []): string {
  const body = censusScript().replace(/^#!.*\n/, '');
  const args = [...censusArgs(expectedClusters(host)), ...extraArgs].map((a) => shq(a)).join(' ');
  const name = shq(host.name);
  return `# ironclad single-instance gate for ${host.name}, rendered from the inventory (rules: src/instances/census.sh).
# ironclad_census: census.sh run in a subshell, so its exit and traps stay inside.
ironclad_census() (
${body.trimEnd()}
)

# ironclad_gate: return 0 when this host runs exactly the clusters of the inventory, with their pinned
# identities; otherwise print the problems on stderr, set IRONCLAD_GATE_PROBLEMS and exit ${GATE_REFUSED}
# (${GATE_FAILED} when the census could not run).
ironclad_gate() {
  ironclad_gate_rc=0
  ironclad_gate_out=$(ironclad_census ${args}) || ironclad_gate_rc=$?
  IRONCLAD_GATE_PROBLEMS=
  ironclad_gate_closed=
  while IFS= read -r ironclad_gate_line; do
    case $ironclad_gate_line in
      "problem${TAB}"*) IRONCLAD_GATE_PROBLEMS="$IRONCLAD_GATE_PROBLEMS\${IRONCLAD_GATE_PROBLEMS:+
}\${ironclad_gate_line#problem${TAB}}" ;;
      "census${TAB}"*) ironclad_gate_closed=1 ;;
    esac
  done <<IRONCLAD_GATE_EOF
$ironclad_gate_out
IRONCLAD_GATE_EOF
  if [ "$ironclad_gate_rc" = 0 ] && [ -n "$ironclad_gate_closed" ] && [ -z "$IRONCLAD_GATE_PROBLEMS" ]; then
    return 0
  fi
  if [ "$ironclad_gate_rc" = 3 ] && [ -n "$ironclad_gate_closed" ] && [ -n "$IRONCLAD_GATE_PROBLEMS" ]; then
    printf 'ironclad gate: refusing to go on: the single-instance check found problems on %s:\\n' ${name} >&2
    while IFS= read -r ironclad_gate_line; do
      printf '  - %s\\n' "$ironclad_gate_line" >&2
    done <<IRONCLAD_GATE_EOF
$IRONCLAD_GATE_PROBLEMS
IRONCLAD_GATE_EOF
    exit ${GATE_REFUSED}
  fi
  IRONCLAD_GATE_PROBLEMS="the single-instance census could not run on ${host.name.replace(/[^A-Za-z0-9_.-]/g, '?')} (exit $ironclad_gate_rc)"
  printf 'ironclad gate: refusing to go on: %s\\n' "$IRONCLAD_GATE_PROBLEMS" >&2
  exit ${GATE_FAILED}
}
`;
}
