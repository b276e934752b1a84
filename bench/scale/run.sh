#!/usr/bin/env bash
# Scale benchmark: how ironclad's cost grows with the estate. Builds a lab of namespace hosts (sc01..scNN, each a
# PostgreSQL host) for each size in SIZES, growing the same lab (5 hosts, then 50: the first five stay), provisions
# it, then times the census (`check instances`), a no-op `apply`, `facts` and `audit`, REPEAT times each (medians),
# with the controller's peak RSS and CPU and the whole machine's CPU over the same wall time; then
# bench/scale/where.mjs splits the census, facts and plan of the estate into their phases (start, connect, remote).
# Goals (issue 17): census of 50 hosts <= 3 s, no-op apply of 50 <= 5 s, linear or better.
#
# Needs root (the lab) and a build (npm run build). Uses the lab lock like every lab user on this machine:
#   flock /tmp/ironclad-lab.lock bench/scale/run.sh      SIZES="5 50" REPEAT=3 (defaults)  KEEP_OUT=1 KEEP_LAB=1
#   COMMANDS="census apply" (default: census apply facts audit; without facts, where.mjs skips its full-facts phase)
# Its lab has its own bridge (iclsc0), subnet (10.213.64.0/24) and state directory (/var/lib/ironclad-scale), so it
# never touches inventory/lab.yaml's lab; it is always torn down at the end, also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
read -r -a sizes <<<"${SIZES:-5 50}"
read -r -a commands <<<"${COMMANDS:-census apply facts audit}" # a shorter hold: COMMANDS="census apply"
repeat=${REPEAT:-3}
out=$(mktemp -d /tmp/ironclad-bench-scale.XXXXXX)
largest=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -n 1)
inventory=$out/scale-$largest.yaml
# shellcheck disable=SC2034 # read by ../lib.sh: the CLI on the largest lab (cleanup takes it all down), the lab's
# state folder, no ssh options (hosts are reached through the CLI only), whether the lab is up
ironclad=(node "$root/dist/scripts/ironclad.js" -i "$inventory") state=/var/lib/ironclad-scale ssh_opts=() lab_is_up=0
# shellcheck source=bench/lib.sh
. "$here/../lib.sh"

node "$here/inventory.mjs" "$largest" >"$inventory"

# Busy CPU seconds of the whole machine so far (all cores, /proc/stat: user nice system irq softirq steal); the
# machine is shared, so this includes other work than ours.
machine_cpu() { awk '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / 100 }' /proc/stat; }

# CPU seconds used so far by the scale lab's hosts: every process in their network namespaces (sshd, the shells
# and tools our scripts start, PostgreSQL), with the children they reaped (utime stime cutime cstime).
hosts_cpu() {
  local ns pid
  for ns in $(ip netns list | awk '/^iclsc0-sc[0-9]/ { print $1 }'); do
    for pid in $(ip netns pids "$ns"); do cat "/proc/$pid/stat" 2>/dev/null || true; done
  done | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); s += $12 + $13 + $14 + $15 } END { printf "%.2f\n", s / hz }'
}

# Run the CLI on inventory $1 with the rest as arguments, output in $out/NAME.*; sets wall, cpu (controller user +
# system), rss (controller peak, MiB), hcpu (the lab hosts' CPU seconds meanwhile), mcpu (the whole machine's).
# Exit codes in OK_CODES are success.
measure() {
  local name=$1 inv=$2 rc=0 h0 h1 m0 m1 e u s k
  shift 2
  h0=$(hosts_cpu)
  m0=$(machine_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/$name.time" node "$root/dist/scripts/ironclad.js" -i "$inv" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
  m1=$(machine_cpu)
  h1=$(hosts_cpu)
  read -r e u s k <"$out/$name.time"
  wall=$e
  cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
  rss=$(awk -v k="$k" 'BEGIN { printf "%.0f", k / 1024 }')
  hcpu=$(awk -v a="$h0" -v b="$h1" 'BEGIN { printf "%.1f", b - a }')
  mcpu=$(awk -v a="$m0" -v b="$m1" 'BEGIN { printf "%.1f", b - a }')
  log "$name: ${wall} s, controller ${cpu} s CPU, ${rss} MiB peak; hosts ${hcpu} s CPU; machine ${mcpu} s CPU (exit $rc, load $(load))"
  [[ " ${OK_CODES:-0} " == *" $rc "* ]] || die "$name exited $rc, see $out/$name.err"
}

declare -A result
for n in "${sizes[@]}"; do
  inv=$out/scale-$n.yaml
  node "$here/inventory.mjs" "$n" >"$inv"
  log "lab up: $n hosts"
  # shellcheck disable=SC2034 # read by cleanup in ../lib.sh
  lab_is_up=1
  timed "lab-up-$n" t node "$root/dist/scripts/ironclad.js" -i "$inv" lab up || die "lab up, see $out/lab-up-$n.err"
  timed "provision-$n" t node "$root/dist/scripts/ironclad.js" -i "$inv" apply --yes || die "first apply, see $out/provision-$n.out"
  node "$root/dist/scripts/ironclad.js" -i "$inv" --json apply --yes >"$out/noop-check-$n.json" || die "second apply failed"
  changes=$(node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(d.hosts.reduce((n, h) => n + h.changes.length, 0))' "$out/noop-check-$n.json")
  [[ $changes == 0 ]] || die "the second apply of $n hosts still changed $changes things"
  for cmd in "${commands[@]}"; do
    walls=() cpus=() rsss=() hcpus=() mcpus=()
    for ((r = 1; r <= repeat; r++)); do
      case $cmd in
        census) measure "census-$n-$r" "$inv" check instances ;;
        apply) measure "apply-$n-$r" "$inv" apply --yes ;;
        facts) measure "facts-$n-$r" "$inv" --json facts ;;
        audit) OK_CODES="0 3" measure "audit-$n-$r" "$inv" --json audit ;;
      esac
      walls+=("$wall") cpus+=("$cpu") rsss+=("$rss") hcpus+=("$hcpu") mcpus+=("$mcpu")
    done
    result[$cmd-$n]="$(median "${walls[@]}") $(median "${cpus[@]}") $(printf '%s\n' "${rsss[@]}" | sort -n | tail -n 1) $(median "${hcpus[@]}") $(median "${mcpus[@]}")"
  done
  log "where the time goes: $n hosts"
  # (a failing phase split is reported; the commands' figures above stand)
  where_args=()
  [[ " ${commands[*]} " == *" facts "* ]] || where_args=(--no-facts)
  node "$here/where.mjs" -i "$inv" "${where_args[@]}" >"$out/where-$n.txt" 2>"$out/where-$n.err" || { log "where.mjs FAILED, see $out/where-$n.err"; export KEEP_OUT=1; }
  cat "$out/where-$n.txt" >&2
done

printf '\n## Scale: %s hosts, medians of %s runs (%s, %s cores, load %s)\n\n' "$(joined "${sizes[@]}")" "$repeat" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$(load)"
printf '| command | hosts | wall s | controller CPU s | controller peak RSS MiB | lab hosts CPU s | machine CPU s |\n|---|---:|---:|---:|---:|---:|---:|\n'
for cmd in "${commands[@]}"; do
  for n in "${sizes[@]}"; do
    read -r w c m h x <<<"${result[$cmd-$n]}"
    label=$cmd
    [[ $cmd == apply ]] && label='apply (no-op)'
    [[ $cmd == census ]] && label='check instances'
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$n" "$w" "$c" "$m" "$h" "$x"
  done
done
fence='```'
for n in "${sizes[@]}"; do printf '\n### where the time goes, %s hosts\n\n%s\n%s\n%s\n' "$n" "$fence" "$(cat "$out/where-$n.txt")" "$fence"; done
end_lab
