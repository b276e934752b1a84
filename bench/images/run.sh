#!/usr/bin/env bash
# Benchmark `ironclad images compare` against `rclone check` on the same two trees, from the page cache, and the
# first compare as a fraction of the machine's hashing limit (`openssl speed -evp sha256` on one core x the cores):
#   1. the bench tree (FILES=12000 of mean MEAN_KB=240, exponential sizes) and a tree of many small files
#      (SMALL_FILES=6000 of ~SMALL_KB=200): rclone check, then the first full compare (ironclad: no cache) with the
#      default hash (BLAKE3 where b3sum is installed, else SHA-256), --hash sha256 and --hash fast
#   2. bench tree: re-run with 0.1% of the replica's files changed (ironclad: warm cache; rclone: full again)
#   3. the manifest merge for 1,000,000 files per side: time and peak RSS (synthetic manifests)
# The fraction of the limit: bytes hashed (both trees) / wall time / limit. It counts Node's start, the walk and the
# merge as well as the hashing, and reading from the page cache, which `openssl speed` does not.
# Over SSH between two lab hosts too when LAB_SRC and LAB_DST are set (HOST:PATH of trees already on the hosts).
#
# Env: FILES MEAN_KB SMALL_FILES SMALL_KB (tree shapes; SMALL_FILES=0 skips that tree), RUNS=3 (median of),
#      BENCH_DIR=/tmp/ironclad-bench, LOCAL=0 (skip local), MERGE_FILES=1000000,
#      IRONCLAD="node dist/scripts/ironclad.js" (the CLI to measure), IRONCLAD_INVENTORY (for LAB_*).
# Needs: npm run build; rclone (apt-get install -y rclone), GNU time (/usr/bin/time), openssl; b3sum optional.
# Run it under the lab lock on a shared machine: flock /tmp/ironclad-lab.lock bash bench/images/run.sh
# Lab hosts see this machine's files through their overlay's lower layer: trees built here before `ironclad lab up`
# can be compared as LAB_SRC=app-prod:$BENCH_DIR/bench/src LAB_DST=backup-far:$BENCH_DIR/bench/dst (IRONCLAD_INVENTORY=inventory/lab.yaml).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
FILES=${FILES:-12000} MEAN_KB=${MEAN_KB:-240} RUNS=${RUNS:-3} BENCH_DIR=${BENCH_DIR:-/tmp/ironclad-bench}
SMALL_FILES=${SMALL_FILES:-6000} SMALL_KB=${SMALL_KB:-200} MERGE_FILES=${MERGE_FILES:-1000000}
read -r -a ironclad <<<"${IRONCLAD:-node $repo/dist/scripts/ironclad.js}"
command -v rclone >/dev/null || { echo "rclone is not installed (apt-get install -y rclone)" >&2; exit 2; }

cache=$BENCH_DIR/cache
# build (once per shape) two identical trees in $BENCH_DIR/$1/{src,dst}, then read them into the page cache
trees() { # NAME FILES MEAN_KB SIZES
  local dir=$BENCH_DIR/$1 shape="$2 files, mean $3 KB, $4 sizes"
  if [ "$(cat "$dir/shape" 2>/dev/null)" != "$shape" ]; then
    echo "building two trees of $shape in $dir ..."
    rm -rf "$dir" && mkdir -p "$dir"
    FILES=$2 MEAN_KB=$3 SIZES=$4 node bench/images/make-tree.mjs "$dir/src" >/dev/null
    cp -a "$dir/src" "$dir/dst"
    echo "$shape" >"$dir/shape"
  fi
  find "$dir/src" "$dir/dst" -type f -print0 | xargs -0 cat >/dev/null
  echo "trees $1: $(du -sh "$dir/src" | cut -f1) each, $(find "$dir/src" -type f | wc -l) files, $(du -sb "$dir/src" | cut -f1) bytes"
}

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
row() { # LABEL "MEDIAN MIN CPU" [BASELINE_MEDIAN BASELINE_MIN [HASHED_BYTES]]
  local m lo cpu
  read -r m lo cpu <<<"$2"
  printf '%-46s %7.2f s (min %.2f s, CPU %.2f s)' "$1" "$m" "$lo" "$cpu"
  if [ -n "${3:-}" ]; then printf '   speed-up %sx (min/min %sx)' "$(ratio "$3" "$m")" "$(ratio "$4" "$lo")"; fi
  if [ -n "${5:-}" ]; then awk -v b="$5" -v m="$m" -v lo="$lo" -v l="$limit" 'BEGIN { printf "   %.2f of the limit (min: %.2f)", b / m / l, b / lo / l }'; fi
  printf '\n'
}

# The hashing limit: openssl's SHA-256 speed on 16 KiB blocks, one core, times the cores (bytes a second).
one_core=$(openssl speed -evp sha256 -seconds 3 -bytes 16384 2>/dev/null | awk '/^sha256/ { sub(/k$/, "", $2); printf "%.0f", $2 * 1000 }')
limit=$((one_core * $(nproc)))
echo "hashing limit: openssl speed -evp sha256 (16 KiB) $(awk -v b="$one_core" 'BEGIN { printf "%.2f", b / 1e9 }') GB/s on one core x $(nproc) cores = $(awk -v b="$limit" 'BEGIN { printf "%.2f", b / 1e9 }') GB/s"
echo "$(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); b3sum: $(command -v b3sum || echo 'not installed')"

first_run() { rm -rf "$cache"; measure "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" "$@"; }
# change 0.1% of the replica's files (new bytes, same size), then compare with the cache of the previous run
changed_rerun() {
  local n=$((FILES / 1000 > 0 ? FILES / 1000 : 1))
  find "$dst" -type f | shuf -n "$n" | while read -r f; do head -c "$(stat -c %s "$f")" /dev/urandom >"$f.new" && mv "$f.new" "$f"; done
  measure "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" "$@"
}
restore() { rm -rf "$dst" && cp -a "$src" "$dst" && find "$dst" -type f -print0 | xargs -0 cat >/dev/null; }

# One tree pair: rclone check, then each first compare with its speed-up and its fraction of the limit.
local_tree() { # NAME FILES MEAN_KB SIZES [reruns]
  trees "$1" "$2" "$3" "$4"
  src=$BENCH_DIR/$1/src dst=$BENCH_DIR/$1/dst
  local hashed=$((2 * $(du -sb "$src" | cut -f1)))
  echo
  echo "== local, $1 tree: $src vs $dst (median of $RUNS runs)"
  local rclone_t rclone_m rclone_lo
  rclone_t=$(repeat measure rclone check "$src" "$dst")
  row "rclone check" "$rclone_t"
  read -r rclone_m rclone_lo _ <<<"$rclone_t"
  local hash label
  for hash in crypto sha256 fast; do
    label="--hash $hash"
    [ "$hash" = crypto ] && label="default ($(command -v b3sum >/dev/null && echo blake3 || echo sha256))"
    row "ironclad images compare $label (first)" "$(repeat first_run --hash "$hash")" "$rclone_m" "$rclone_lo" "$hashed"
    if [ "${5:-}" = reruns ]; then
      row "  re-run, 0.1% changed, warm cache" "$(repeat changed_rerun --hash "$hash")" "$rclone_m" "$rclone_lo"
      restore
    fi
  done
}

if [ "${LOCAL:-1}" = 1 ]; then
  local_tree bench "$FILES" "$MEAN_KB" exp reruns
  src=$BENCH_DIR/bench/src dst=$BENCH_DIR/bench/dst
  /usr/bin/time -f '%M' -o "$BENCH_DIR/rss" "${ironclad[@]}" images compare "$src" "$dst" --cache-dir "$cache" >/dev/null 2>&1 || true
  echo "peak RSS of the ironclad process ($FILES files): $(($(tail -n 1 "$BENCH_DIR/rss") / 1024)) MB"
  if [ "$SMALL_FILES" -gt 0 ]; then local_tree small "$SMALL_FILES" "$SMALL_KB" near; fi
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
