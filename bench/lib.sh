# Shared by the benchmarks' run.sh (sourced, bash): logging, the lab torn down on every exit, timing, medians
# and ratios, secrets, shell on lab hosts. The caller sets `out` (a temporary folder), `ironclad` (the CLI with
# its inventory, an array), `ssh_opts` (an array), `state` (the lab's state folder) and `lab_is_up=0` first;
# it may define `bench_cleanup` for what it started itself.
# shellcheck shell=bash disable=SC2154  # out, ironclad, ssh_opts, lab_is_up, state: set by the caller

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# On every exit: the caller's own cleanup, then the lab down (unless KEEP_LAB is set, for a look at it after the
# run); the logs kept when the run failed or KEEP_OUT is set.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if declare -F bench_cleanup >/dev/null; then bench_cleanup || true; fi
  if ((lab_is_up)) && [[ -n ${KEEP_LAB:-} ]]; then
    log "KEEP_LAB is set: the lab stays up (take it down with: ${ironclad[*]} lab down)"
  elif ((lab_is_up)); then
    log "tearing the lab down"
    "${ironclad[@]}" lab down >"$out/lab-down-final.log" 2>&1 || log "lab down failed, see $out/lab-down-final.log"
  fi
  if ((rc == 0)) && [[ -z ${KEEP_OUT:-} ]]; then rm -rf "$out"; else log "logs kept in $out"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The lab down at the end of a run; KEEP_LAB=1 leaves it up, to look at it.
end_lab() {
  [[ -z ${KEEP_LAB:-} ]] || return 0
  lab_is_up=0
  log "lab down"
  "${ironclad[@]}" lab down >"$out/lab-down-end.log" 2>&1 || { lab_is_up=1; die "lab down, see $out/lab-down-end.log"; }
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
joined() { local IFS=,; echo "$*"; }

# Run a command (or a shell function) with its output in $out/NAME.{out,err}; its wall time in seconds goes to
# the variable VAR, the CPU seconds it and its children used on this machine (user + system) to cpu_VAR.
timed() {
  local name=$1 var=$2 rc=0 wall user sys cpu TIMEFORMAT='%R %U %S'
  shift 2
  { time "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?; } 2>"$out/$name.time"
  read -r wall user sys < <(tail -n 1 "$out/$name.time")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  printf -v "$var" '%.2f' "$wall"
  printf -v "cpu_$var" '%s' "$cpu"
  log "$name: ${!var} s, $cpu s CPU here (exit $rc, load $(load))"
  return "$rc"
}

# The lab's secret files (random, made once) for these names: $state/secrets/NAME.pw.
make_secrets() {
  mkdir -p "$state/secrets"
  local name
  for name in "$@"; do
    [[ -s $state/secrets/$name.pw ]] || (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$state/secrets/$name.pw")
  done
}

# Run shell text on a lab host (the text is expanded there, not here).
# shellcheck disable=SC2029
remote() { local address=$1; shift; ssh "${ssh_opts[@]}" "root@$address" "$@"; }
