#!/usr/bin/env bash
# A/B on the small tree (built by run.sh): two builds of ironclad, interleaved, the first compare with the default hash
# and an empty cache each run; wall and CPU medians. Run it under the lab lock, like run.sh:
#   BEFORE=/path/to/other/checkout/dist/scripts/ironclad.js flock /tmp/ironclad-lab.lock bash bench/images/ab.sh
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
BEFORE=${BEFORE:?the other build: BEFORE=.../dist/scripts/ironclad.js} AFTER=${AFTER:-$repo/dist/scripts/ironclad.js}
BENCH_DIR=${BENCH_DIR:-/tmp/ironclad-bench} RUNS=${RUNS:-7}
tree=$BENCH_DIR/small times=$BENCH_DIR/ab.times
rm -f "$times"
echo "load at start: $(cat /proc/loadavg)"
for _ in $(seq "$RUNS"); do
  for v in before after; do
    if [ $v = before ]; then cli=$BEFORE; else cli=$AFTER; fi
    rm -rf "$BENCH_DIR/ab-cache"
    /usr/bin/time -f "$v %e %U %S" -a -o "$times" node "$cli" images compare "$tree/src" "$tree/dst" --cache-dir "$BENCH_DIR/ab-cache" >/dev/null 2>&1
  done
done
echo "load at end: $(cat /proc/loadavg)"
for v in before after; do
  med() { grep "^$v " "$times" | awk "{ print $1 }" | sort -n | awk '{ x[NR] = $1 } END { printf "median %.3f min %.3f", x[int((NR + 1) / 2)], x[1] }'; }
  echo "$v: wall $(med '$2'), CPU $(med '$3 + $4') ($RUNS runs)"
done
