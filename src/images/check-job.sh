# ironclad images check, run by cron or a systemd timer on the replica's host (no Node.js): one run of a pair's
# routine check, as `ironclad images check NAME` does it. Both trees are scanned where they live by scan.sh (the source's
# by its entry point, check-source.sh, reached by source_call: over SSH with the pair's own key, whose only command there
# is that entry point, the source's host key pinned; the source's manifest comes back gzipped), with BLAKE3 when both
# hosts have b3sum, else SHA-256 (openssl, else sha256sum); each run rehashes
# the slice verified longest ago (everything on a first run without a budget); the two sorted manifests are merged
# here; the coverage state and the record are written where `images check`, `images compare` and `audit` read them.
# Needs the settings above it (rendered from the inventory). Exit: 0 ok, 3 rot, a discrepancy or a coverage gap
# (then ALERT runs, the summary on its stdin), 1 the check could not run (the record is left as it was).
set -eu
LC_ALL=C
export LC_ALL
tab=$(printf '\t')
fail() { printf 'ironclad-images-check %s: %s\n' "$PAIR" "$1" >&2; exit 1; }
num() { sed -n "s/^$1=\\([0-9][0-9]*\\)\$/\\1/p" "$2" | head -n 1; }

dir=${RECORD%/*}
mkdir -p "$dir"
if command -v flock >/dev/null 2>&1; then
  exec 8>"$COVERAGE.lock"
  flock -n 8 || fail 'another check of this pair is running'
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/ironclad-images-check.XXXXXX")
scanned=''
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  [ -z "$scanned" ] || source_call op=forget </dev/null >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
started=$(date -u +%s)

# Which hash both hosts have.
here_scan() { sh -c "$SCAN" ironclad-images "root=$REPLICA_ROOT" "cachedir=$CACHE_DIR" "$@"; }
source_call op=probe >"$work/sprobe" 2>"$work/err" </dev/null || fail "cannot probe the source $SOURCE: $(tail -n 1 "$work/err")"
here_scan op=probe >"$work/rprobe" 2>"$work/err" || fail "cannot probe the replica $REPLICA_ROOT: $(tail -n 1 "$work/err")"
algo=sha256
if grep -q '^algos=.*blake3' "$work/sprobe" && grep -q '^algos=.*blake3' "$work/rprobe"; then algo=blake3; fi
grep -q '^algos=.*sha256' "$work/sprobe" || [ "$algo" = blake3 ] || fail "no SHA-256 tool on the source $SOURCE"

# The slice plan from the coverage state (the same arithmetic as src/images/coverage.ts, in COVERAGE_AWK).
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
state=''
[ ! -f "$COVERAGE" ] || state=$(head -c 1048576 "$COVERAGE" | tr -d '\n')
coverage() { awk -v state="$state" -v days="$DAYS" -v rpd="$RUNS_PER_DAY" -v budget="$BUDGET" "$@" "$COVERAGE_AWK" </dev/null; }
coverage -v op=plan -v f="$work/plan" || fail 'could not plan the slice'
slices=$(num slices "$work/plan") slice=$(num slice "$work/plan") first=$(num first "$work/plan")
if [ "$first" = 1 ]; then mode=rehash; set -- mode=rehash; else mode=slice; set -- mode=slice "slices=$slices" "slice=$slice"; fi

# Both scans at once; then the source's manifest is fetched and both are merged in path order (MERGE_AWK).
scanned=1
source_call op=scan "algo=$algo" "$@" </dev/null >"$work/sstats" 2>"$work/serr" &
spid=$!
rrc=0 src=0
here_scan op=scan "algo=$algo" "$@" "manifest=$work/replica" pack=none >"$work/rstats" 2>"$work/rerr" || rrc=$?
wait "$spid" || src=$?
[ "$rrc" -eq 0 ] || fail "the replica's scan failed (exit $rrc): $(tail -n 1 "$work/rerr")"
[ "$src" -eq 0 ] || fail "the source's scan on $SOURCE failed (exit $src): $(tail -n 1 "$work/serr")"
source_call op=manifest </dev/null >"$work/source.gz" 2>"$work/err" || fail "could not fetch the source's manifest from $SOURCE: $(tail -n 1 "$work/err")"
scanned=''
gzip -dc <"$work/source.gz" >"$work/source" || fail "the source's manifest from $SOURCE is not whole"
awk -v src="$work/source" "$MERGE_AWK" "$work/replica" >"$work/counts" 2>"$work/err" || fail "the manifests could not be merged: $(tail -n 1 "$work/err")"
c() { num "$1" "$work/counts"; }

# Coverage after this run (the slice, or everything when both sides were hashed whole), then the state and the
# record, each written atomically.
whole=1
for s in "$work/sstats" "$work/rstats"; do
  [ $(($(num hashed "$s") + $(num unreadable "$s"))) -ge "$(num files "$s")" ] || whole=0
done
coverage -v op=record -v f="$work/after" -v whole="$whole" -v slices="$slices" -v slice="$slice" -v now="$now" -v bytes="$(c bytes_max)" ||
  fail 'could not record the coverage'
walk_errors=$(($(num walk_errors "$work/sstats") + $(num walk_errors "$work/rstats")))
ok=false
[ "$(c problems)" != 0 ] || [ "$walk_errors" != 0 ] || ok=true
{
  printf '{"name":"%s","at":"%s","ok":%s,"mode":"%s","hash":"%s",' "$PAIR" "$now" "$ok" "$mode" "$algo"
  printf '"source":{"files":%s,"bytes":%s},"replica":{"files":%s,"bytes":%s},"equal":%s,' "$(c source_files)" "$(c source_bytes)" "$(c replica_files)" "$(c replica_bytes)" "$(c equal)"
  printf '"counts":{"missing":%s,"extra":%s,"size_mismatch":%s,"content_mismatch":%s,"source_rot":%s,"unreadable":%s},' \
    "$(c missing)" "$(c extra)" "$(c size_mismatch)" "$(c content_mismatch)" "$(c source_rot)" "$(c unreadable)"
  printf '"walk_errors":%s,"duration_ms":%s,"coverage":%s}\n' "$walk_errors" "$((($(date -u +%s) - started) * 1000))" "$(sed -n 's/^coverage=//p' "$work/after")"
} >"$RECORD.tmp"
sed -n 's/^state=//p' "$work/after" >"$COVERAGE.tmp"
mv -f "$COVERAGE.tmp" "$COVERAGE" && mv -f "$RECORD.tmp" "$RECORD"

# Quarantined files (kept by images repair) go by age, never by a repair.
pruned=$(sh -c "$REPAIR" ironclad-repair op=prune "root=$REPLICA_ROOT" "days=$QUARANTINE_DAYS" 2>&1) ||
  echo "ironclad-images-check $PAIR: could not prune the quarantine: $pruned" >&2
text=$(sed -n 's/^text=//p' "$work/after")
summary="images check $PAIR ($SOURCE -> $REPLICA_ROOT, $algo): $(c equal) equal, $(c problems) discrepancies, $walk_errors unreadable directories; $text"
printf '%s\n' "$summary"
printf '%s\n' "$pruned" | sed -n "s/^removed$tab\(.*\)/  quarantine \1 removed (older than its days)/p"
if [ "$ok" = true ] && [ "$(num ok "$work/after")" = 1 ]; then exit 0; fi
if [ -n "$ALERT" ]; then
  IRONCLAD_IMAGES_PAIR=$PAIR
  export IRONCLAD_IMAGES_PAIR
  { printf '%s\n' "$summary"; grep -v '^bytes_max=' "$work/counts"; } | sh -c "$ALERT" || echo "ironclad-images-check $PAIR: the alert command failed" >&2
fi
exit 3
