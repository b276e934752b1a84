#!/usr/bin/env bash
# Staging-refresh benchmark: `ironclad refresh staging --yes` (runbooks/staging-refresh.yaml) against
# plain-refresh.sh (scp, single-job pg_restore, UPDATE statements, rename) doing the same work on the same lab
# (lab.yaml: br-prod, br-store, br-staging), from the same backup of a ~1 GB production database (seed.sql).
# Target (issue 6): ironclad at least 2x faster than the plain script.
#
# Needs root (the lab). Not part of `npm test`.
#   bench/refresh/run.sh     ROUNDS=3 (default)   SEED_ROWS=850000 (users; ~1 GB on disk)   KEEP_OUT=1 (keep the logs)
#                            KEEP_LAB=1 (leave the lab up after the run, to look at it)
#                            BASELINE=/path/to/another/checkout (built: its dist/): an A/B, that checkout's ironclad run
#                            too in every round, between the two others, on the same lab, backup and staging
# One lab for the whole run: seeded, backed up, the backup verified by a restore drill (refresh takes the latest
# verified backup); then ROUNDS rounds of one ironclad refresh and one plain refresh, the order alternating, a
# CHECKPOINT on staging before each. Every run's result is checked (each tool's scrubbed rows identical to its first run's).
# The table shows medians. The lab is always torn down at the end, also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
inventory=$here/lab.yaml
state=/var/lib/ironclad-lab-bench-refresh
rounds=${ROUNDS:-3}
seed_rows=${SEED_ROWS:-850000}
out=$(mktemp -d /tmp/ironclad-bench-refresh.XXXXXX)
prod=10.213.17.10 store=10.213.17.12 staging=10.213.17.20
ironclad=(node "$root/dist/scripts/ironclad.js" -i "$inventory")
ssh_opts=(-i "$state/id_ed25519" -o "UserKnownHostsFile=$state/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10)
export IRONCLAD_STATE_DIR=$out/ironclad-state # the runs' journals, read for the per-step times
lab_is_up=0
t='' # set by timed

# shellcheck source=bench/lib.sh
source "$here/../lib.sh"

# SQL (stdin) as postgres on a lab host's cluster; tuples only.
sql() { remote "$1" "cd / && su postgres -c 'psql -X -q -A -t -v ON_ERROR_STOP=1 -d $2'"; }

# The plain script's access: staging's root may scp from the store's root (its own key; the store's host key pinned).
plain_access() {
  local pub hostkey
  pub=$(remote "$staging" 'mkdir -p /root/.ssh && { [ -f /root/.ssh/plain_ed25519 ] || ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/plain_ed25519; } && cat /root/.ssh/plain_ed25519.pub')
  printf '%s\n' "$pub" | remote "$store" 'cat >> /root/.ssh/authorized_keys'
  hostkey=$(remote "$store" 'cut -d" " -f1,2 /etc/ssh/ssh_host_ed25519_key.pub')
  printf '%s %s\n' "$store" "$hostkey" | remote "$staging" 'cat >> /root/.ssh/known_hosts'
}

# What a refresh must leave in staging's app: every row of production, the scrubbed values, the admins, no original
# email or phone; and a fingerprint of the scrubbed tables (md5 over every row of users and orders) identical to the
# same tool's first run (each tool against itself: ironclad's fakes are SHA-256 hashes keyed by staging's key, the plain script's
# md5 and hashtext of the originals, so the two differ by design; each must be deterministic).
check_result() {
  local tool=$1 got
  got=$(sql "$staging" app <<'SQL'
SELECT (SELECT count(*) FROM events) || ' events, ' || (SELECT count(*) FROM payment_methods) || ' payment_methods, '
    || (SELECT count(*) FROM sessions) || ' sessions, admins '
    || (SELECT string_agg(email, ',' ORDER BY email) FROM users WHERE role = 'admin') || ', users '
    || (SELECT md5(string_agg(u::text, E'\n' ORDER BY id)) FROM users u) || ', orders '
    || (SELECT md5(string_agg(o::text, E'\n' ORDER BY id)) FROM orders o);
SQL
  ) || die "$tool: cannot read staging's app"
  [[ $got == "$events_rows events, 0 payment_methods, 0 sessions, admins dev@example.com,qa@example.com, "* ]] || die "$tool: unexpected result: $got"
  [[ -z ${fingerprint[$tool]:-} || $got == "${fingerprint[$tool]}" ]] || die "$tool: the scrubbed data differs from its first run's: $got / ${fingerprint[$tool]}"
  fingerprint[$tool]=$got
  got=$(sql "$staging" app <<<"SELECT count(*) FROM users WHERE email !~ '@example\.(invalid|com)$' OR phone IS NOT NULL") || die "$tool: cannot read staging's app"
  [[ $got == 0 ]] || die "$tool: $got users keep an original email or phone"
  log "$tool: result checked (rows, truncated tables, admins, no original email or phone, scrubbed values identical to its first run's)"
}

# Seconds per step of an ironclad run, from its journal: "guard=0.36 pick=0.16 ..."; the restore's own phases from its log.
ironclad_steps() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.kind === "step");
    const parts = lines.map((e) => `${e.step}=${((Date.parse(e.end) - Date.parse(e.start)) / 1000).toFixed(2)}`);
    const restore = lines.find((e) => e.step === "restore");
    for (const [key, re] of [["restore.tables", /tables created in ([\d.]+) s/], ["restore.data", /other tables. data loaded in ([\d.]+) s/], ["restore.load-scrubbed", /scrubbed tables. data loaded in ([\d.]+) s/], ["restore.scrub", /before their indexes were built, in ([\d.]+) s/], ["restore.data+scrub", /data loaded and scrubbed in ([\d.]+) s/], ["restore.indexes", /constraints built in ([\d.]+) s/], ["restore.pii-scan", /for personal data beside the index build, in ([\d.]+) s/], ["restore.foreign-keys", /foreign keys checked, up to \d+ at once, [^\n]*?in ([\d.]+) s/]]) {
      const m = (restore?.tail ?? []).map((l) => re.exec(l)).find(Boolean);
      if (m) parts.push(`${key}=${m[1]}`);
    }
    console.log(parts.join(" "));' "$1"
}

# Seconds per step of a plain run, from the timestamps of its step lines.
plain_steps() {
  awk '/^\[plain / { split($2, hms, /[:\]]/); s = hms[1] * 3600 + hms[2] * 60 + hms[3]; $1 = $2 = ""; sub(/^ +/, "");
         if (name != "") printf "%s=%.2f ", name, s - prev; split($0, w, " "); name = w[1]; prev = s } END { print "" }' "$1"
}

ic_total=() pl_total=() ic_steps=() pl_steps=() bl_total=() bl_steps=()
baseline=()
[[ -z ${BASELINE:-} ]] || baseline=(node "$BASELINE/dist/scripts/ironclad.js" -i "$inventory")
declare -A fingerprint=() # the first run's fingerprint of each tool

run_ironclad() {
  local r=$1 tool=${2:-ironclad} run_id steps
  local -n cmd=${3:-ironclad} totals=${4:-ic_total} stepsof=${5:-ic_steps}
  sql "$staging" postgres <<<'CHECKPOINT;' >/dev/null
  timed "$tool-$r" t "${cmd[@]}" --yes refresh staging || die "$tool refresh, see $out/$tool-$r.out"
  totals+=("$t")
  run_id=$(sed -n 's/.*(run \([0-9A-Za-z-]*\)).*/\1/p' "$out/$tool-$r.out" | tail -n 1)
  [[ -n $run_id ]] || die "no run id in $out/$tool-$r.out"
  steps=$(ironclad_steps "$IRONCLAD_STATE_DIR/runs/$run_id.jsonl") || die "cannot read the journal of $run_id"
  stepsof+=("$steps")
  log "$tool-$r steps: ${stepsof[-1]}"
  check_result "$tool"
}

run_baseline() { ((${#baseline[@]} == 0)) || run_ironclad "$1" baseline baseline bl_total bl_steps; }

run_plain() {
  local r=$1 steps
  sql "$staging" postgres <<<'CHECKPOINT;' >/dev/null
  timed "plain-$r" t "$here/plain-refresh.sh" "$state/id_ed25519" "$state/known_hosts" "$store" "$staging" || die "plain refresh, see $out/plain-$r.err"
  pl_total+=("$t")
  steps=$(plain_steps "$out/plain-$r.err") || die "cannot read the steps of plain-$r"
  pl_steps+=("$steps")
  log "plain-$r steps: ${pl_steps[-1]}"
  check_result plain
}

[[ $(id -u) == 0 ]] || die "the lab needs root"
log "build"
(cd "$root" && npx tsc -p tsconfig.build.json) || die "build"
make_secrets app staging
log "lab down + up"
"${ironclad[@]}" lab down >"$out/lab-down-start.log" 2>&1 || die "lab down, see $out/lab-down-start.log"
lab_is_up=1
"${ironclad[@]}" lab up >"$out/lab-up.log" 2>&1 || die "lab up, see $out/lab-up.log"
timed apply t "${ironclad[@]}" --yes apply || die "apply, see $out/apply.out"
log "seeding production ($seed_rows users)"
remote "$prod" "cd / && su postgres -c 'psql -X -q -A -t -v ON_ERROR_STOP=1 -v rows=$seed_rows -d app'" <"$here/seed.sql" >"$out/seed.out" 2>"$out/seed.err" || die "seed, see $out/seed.err"
db_size=$(sql "$prod" app <<<"SELECT pg_size_pretty(pg_database_size('app')) || ' (' || pg_database_size('app') || ' bytes)'")
table_sizes=$(sql "$prod" app <<<"SELECT string_agg(relname || ' ' || pg_size_pretty(pg_total_relation_size(oid)) || ' ' || reltuples::bigint || ' rows', ', ' ORDER BY pg_total_relation_size(oid) DESC) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'")
events_rows=$(sql "$prod" app <<<'SELECT count(*) FROM events')
log "production app: $db_size; $table_sizes"
timed backup t "${ironclad[@]}" backup run --host br-prod || die "backup, see $out/backup.out"
timed verify t "${ironclad[@]}" backup verify --latest --restore || die "backup verify, see $out/verify.out"
dump_size=$("${ironclad[@]}" --json backup list | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(d.backups[0].bytes)')
plain_access

load_start=$(load)
for ((r = 1; r <= rounds; r++)); do # the order alternates, so a drift in this machine's load hits both alike
  if ((r % 2)); then
    run_ironclad "$r"
    run_baseline "$r"
    run_plain "$r"
  else
    run_plain "$r"
    run_baseline "$r"
    run_ironclad "$r"
  fi
done
load_end=$(load)

end_lab

# The median of each step over the runs: "name=seconds ..." lines in, "name median" lines out (first run's order).
step_medians() {
  printf '%s\n' "$@" | tr ' ' '\n' | awk -F= 'NF == 2 { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } v[$1] = v[$1] " " $2 }
    END { for (i = 1; i <= n; i++) print order[i], v[order[i]] }' | while read -r name values; do
    # shellcheck disable=SC2086 # one value a word
    printf '  %-16s %8s s\n' "$name" "$(median $values)"
  done
}

m_ic=$(median "${ic_total[@]}") m_pl=$(median "${pl_total[@]}")
echo
echo "Staging refresh from the latest verified backup: production app $db_size ($table_sizes); dump $dump_size bytes"
echo "machine: $(nproc) CPUs, load average $load_start at the start, $load_end at the end (the lab hosts run on these CPUs too)"
echo "$rounds rounds, order alternating; totals (s): ironclad $(joined "${ic_total[@]}"); plain script $(joined "${pl_total[@]}")"
printf '%-28s %10s %14s %16s %8s\n' "" "ironclad" "plain script" "plain/ironclad" "target"
printf '%-28s %10s %14s %16s %8s\n' "refresh, median (s)" "$m_ic" "$m_pl" "$(ratio "$m_pl" "$m_ic")" ">= 2x"
if ((${#bl_total[@]})); then
  m_bl=$(median "${bl_total[@]}")
  echo "baseline ($BASELINE): totals (s) $(joined "${bl_total[@]}"); median $m_bl s, plain/baseline $(ratio "$m_pl" "$m_bl")"
  echo "baseline steps, medians:"
  step_medians "${bl_steps[@]}"
fi
echo "ironclad steps, medians (restore.* are phases of the restore step):"
step_medians "${ic_steps[@]}"
echo "plain script steps, medians:"
step_medians "${pl_steps[@]}"
