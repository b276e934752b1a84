#!/usr/bin/env bash
# Benchmark `ironclad images compare` against `rclone check` on the same two trees, from the page cache:
#   1. first full compare (ironclad: no cache; rclone has none), sha256 and --hash fast
#   2. re-run with 0.1% of the replica's files changed (ironclad: warm cache; rclone: full again)
#   3. the manifest merge for 1,000,000 files per side: time and peak RSS (synthetic manifests)
# Over SSH between two lab hosts too when LAB_SRC and LAB_DST are set (HOST:PATH of trees already on the hosts).
#
# Env: FILES=12000 MEAN_KB=240 (tree shape), RUNS=3 (median of), BENCH_DIR=/tmp/ironclad-bench, LOCAL=0 (skip local),
#      MERGE_FILES=1000000, IRONCLAD="node dist/scripts/ironclad.js" (the CLI to measure), IRONCLAD_INVENTORY (for LAB_*).
# Needs: npm run build; rclone (apt-get install -y rclone), GNU time (/usr/bin/time). Not part of npm test.
# Lab hosts see this machine's files through their overlay's lower layer: trees built here before `ironclad lab up`
# can be compared as LAB_SRC=app-prod:$BENCH_DIR/src LAB_DST=backup-far:$BENCH_DIR/dst (IRONCLAD_INVENTORY=inventory/lab.yaml).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
FILES=${FILES:-12000} MEAN_KB=${MEAN_KB:-240} RUNS=${RUNS:-3} BENCH_DIR=${BENCH_DIR:-/tmp/ironclad-bench}
MERGE_FILES=${MERGE_FILES:-1000000}
read -r -a ironclad <<<"${IRONCLAD:-node $repo/dist/scripts/ironclad.js}"
command -v rclone >/dev/null || { echo "rclone is not installed (apt-get install -y rclone)" >&2; exit 2; }

src=$BENCH_DIR/src dst=$BENCH_DIR/dst cache=$BENCH_DIR/cache shape="$FILES files, mean $MEAN_KB KB"
if [ "$(cat "$BENCH_DIR/shape" 2>/dev/null)" != "$shape" ]; then
  echo "building two trees of $shape in $BENCH_DIR ..."
  rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"
  FILES=$FILES MEAN_KB=$MEAN_KB node bench/images/make-tree.mjs "$src"
  cp -a "$src" "$dst"
  echo "$shape" >"$BENCH_DIR/shape"
fi
find "$src" "$dst" -type f -print0 | xargs -0 cat >/dev/null # page cache, as in the issue's rclone figure
echo "trees: $(du -sh "$src" | cut -f1) each, $(find "$src" -type f | wc -l) files; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"

# "WALL CPU" seconds of one command (CPU: user + system of it and its children, less sensitive to a busy machine);
# exit codes 0, 1 (rclone: differences) and 3 (ironclad: differences) are expected here
measure() {
  local rc=0
  /usr/bin/time -f '%e %U %S' -o "$BENCH_DIR/time" "$@" >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 1 ] || [ "$rc" -eq 3 ] || { echo "failed ($rc): $*" >&2; exit 1; }
  tail -n 1 "$BENCH_DIR/time" | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}
# RUNS measurements -> "MEDIAN_WALL MIN_WALL MEDIAN_CPU"
repeat() {
  local runs=$BENCH_DIR/runs
  for _ in $(seq "$RUNS"); do "$@"; done >"$runs"
  col() { cut -d ' ' -f "$1" "$runs" | sort -n | awk -v pick="$2" '{ v[NR] = $1 } END { print (pick == "min") ? v[1] : v[int((NR + 1) / 2)] }'; }
  echo "$(col 1 median) $(col 1 min) $(col 2 median)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
row() { # LABEL "MEDIAN MIN CPU" [BASELINE_MEDIAN BASELINE_MIN]
  local m lo cpu
  read -r m lo cpu <<<"$2"
  printf '%-46s %7.2f s (min %.2f s, CPU %.2f s)' "$1" "$m" "$lo" "$cpu"
  if [ -n "${3:-}" ]; then printf '   speed-up %sx (min/min %sx)' "$(ratio "$3" "$m")" "$(ratio "$4" "$lo")"; fi
  printf '\n'
}

first_run() { rm -rf "$cache"; measure "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" "$@"; }
# change 0.1% of the replica's files (new bytes, same size), then compare with the cache of the previous run
changed_rerun() {
  local n=$((FILES / 1000 > 0 ? FILES / 1000 : 1))
  find "$dst" -type f | shuf -n "$n" | while read -r f; do head -c "$(stat -c %s "$f")" /dev/urandom >"$f.new" && mv "$f.new" "$f"; done
  measure "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" "$@"
}
restore() { rm -rf "$dst" && cp -a "$src" "$dst" && find "$dst" -type f -print0 | xargs -0 cat >/dev/null; }

if [ "${LOCAL:-1}" = 1 ]; then
  echo
  echo "== local: $src vs $dst (median of $RUNS runs)"
  rclone_t=$(repeat measure rclone check "$src" "$dst")
  row "rclone check" "$rclone_t"
  read -r rclone_m rclone_lo _ <<<"$rclone_t"
  for hash in sha256 fast; do
    restore
    row "ironclad images compare --hash $hash (first)" "$(repeat first_run --hash "$hash")" "$rclone_m" "$rclone_lo"
    row "  re-run, 0.1% changed, warm cache" "$(repeat changed_rerun --hash "$hash")" "$rclone_m" "$rclone_lo"
  done
  row "rclone check on the 0.1%-changed trees" "$(repeat measure rclone check "$src" "$dst")"
  /usr/bin/time -f '%M' -o "$BENCH_DIR/rss" "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" >/dev/null 2>&1 || true
  echo "peak RSS of the ironclad process ($FILES files): $(($(tail -n 1 "$BENCH_DIR/rss") / 1024)) MB"
  restore
fi

if [ -n "${LAB_SRC:-}" ] && [ -n "${LAB_DST:-}" ]; then
  echo
  echo "== over SSH: $LAB_SRC vs $LAB_DST (each side scanned on its host; median of $RUNS runs)"
  lab_first() { measure "${ironclad[@]}" images compare "$LAB_SRC" "$LAB_DST" --rehash "$@"; }
  lab_rerun() { measure "${ironclad[@]}" images compare "$LAB_SRC" "$LAB_DST" "$@"; }
  lab_base=()
  if [ -n "${LAB_RCLONE:-}" ]; then # two rclone remotes, e.g. ":sftp,host=...,key_file=...:/path" for each side
    read -r -a remotes <<<"$LAB_RCLONE"
    lab_rclone=$(repeat measure rclone check "${remotes[@]}")
    row "rclone check over sftp" "$lab_rclone"
    read -r a b _ <<<"$lab_rclone"
    lab_base=("$a" "$b")
  fi
  for hash in sha256 fast; do
    row "ironclad --hash $hash (first, --rehash)" "$(repeat lab_first --hash "$hash")" "${lab_base[@]}"
    row "  re-run, warm cache" "$(repeat lab_rerun --hash "$hash")" "${lab_base[@]}"
  done
fi

echo
echo "== merge of synthetic manifests"
node bench/images/merge-rss.mjs "$MERGE_FILES"
