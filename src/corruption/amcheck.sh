# The body of the amcheck job (POSIX sh, run by cron or a systemd timer as root). The settings above it are rendered by
# `ironclad apply`: HOST, PORT, VERSION, HEAPALLINDEXED, DIR, STATUS, REPORT, ALERT (the host's backup alert command). pg_amcheck checks every database's heaps and
# B-tree indexes with read locks only (AccessShareLock: no --parent-check, which would block writes), throttled with
# nice and ionice; its report and a status file go to DIR for the facts to read. amcheck is installed into pg_catalog
# of each database on the first run when absent (--install-missing: out of reach of any role's search_path).
set -u
umask 077
mkdir -p "$DIR" || exit 1
exec 9>"$DIR/amcheck.lock"
if ! flock -n 9; then
  echo "ironclad-amcheck: another check is running" >&2
  exit 75
fi

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
started=$(now)
t0=$(date +%s)

# state exit: the status file, written whole then renamed over the last one; the alert command on anything but ok
# (its one argument names the first relations pg_amcheck reported: data, never parsed by a shell)
finish() {
  printf 'started=%s\nfinished=%s\nexit=%s\nstate=%s\nseconds=%s\n' "$started" "$(now)" "$2" "$1" "$(($(date +%s) - t0))" > "$STATUS.tmp" &&
    mv -f "$STATUS.tmp" "$STATUS"
  if [ "$1" != ok ] && [ -n "$ALERT" ]; then
    what=$(grep -E '^(heap table|btree index) "' "$REPORT" 2>/dev/null | head -n 3 | tr '\n' ' ')
    sh -c "$ALERT \"\$1\"" ironclad-alert "ironclad amcheck of $HOST: $1${what:+: $what}(report: $REPORT)" || echo "ironclad-amcheck: the alert command failed" >&2
  fi
}

bin="/usr/lib/postgresql/$VERSION/bin/pg_amcheck"
if [ ! -x "$bin" ]; then
  echo "ironclad-amcheck: $bin is not installed" > "$REPORT"
  finish failed 127
  exit 1
fi
opts="--all --install-missing"
if [ "$HEAPALLINDEXED" = 1 ]; then opts="$opts --heapallindexed"; fi
throttle=""
if command -v ionice >/dev/null 2>&1; then throttle="ionice -c 2 -n 7"; fi

cd / || exit 1
rm -f "$DIR/amcheck.rc"
# the report is cut at 256 KiB (the rest is read and dropped, so pg_amcheck always runs to its end)
{
  # shellcheck disable=SC2086 # $throttle and $opts are word lists by design
  nice -n 19 $throttle su postgres -s /bin/sh -c "exec $bin -p $PORT $opts" 2>&1
  echo "$?" > "$DIR/amcheck.rc"
} | { head -c 262144; cat > /dev/null; } > "$REPORT.tmp"
rc=$(cat "$DIR/amcheck.rc" 2>/dev/null || echo 1)
mv -f "$REPORT.tmp" "$REPORT"

# pg_amcheck: 0 nothing found, 2 corruption found, anything else: it could not check
if [ "$rc" = 0 ]; then
  finish ok 0
elif [ "$rc" = 2 ] || grep -qE '^(heap table|btree index) "' "$REPORT"; then
  finish corrupt "$rc"
  exit 3
else
  finish failed "$rc"
  exit 1
fi
