# --- body: make, watch, finish or drop the cluster of a point-in-time restore on this host (POSIX sh, as root). ---
# Rendered above: MODE, VERSION, CLUSTER, PGPORT, STAGE (the unpacked base, STAGE/data), WALDIR (the fetched WAL),
# TARGET (a time, or empty: the end of the WAL), POINT (a restore point's name, or empty), SOURCE, BASE, SYSID, PIN (the restored cluster's own pin file).
#   reclaim  a restore of SOURCE under this name that never finished (the power went or the host rebooted during it) and
#            is not running: its cluster, STAGE and WALDIR removed (@@reclaimed), for this restore to make them anew
#   create   refuse a port any cluster of this host has (running or not) or anything listens on, and a cluster name
#            that exists; create the cluster (pg_createcluster layout), marked as this restore's, waiting for the base
#   make     create, unless create did; put the base in as its data directory, set
#            recovery from WALDIR to TARGET (inclusive) then promote, with fsync off; start it, and the base's files
#            being written to disk meanwhile. Settings the source's data directory carried (postgresql.auto.conf) are
#            set aside, never run here: an archive_command of production's stays off.
#   status   @@state recovering|promoted|down, @@replay LSN (waits up to a second for the promotion)
#   finish   once promoted: replace the recovery settings with a note; stop the server cleanly, sync every file of its
#            data directory to disk (durable), start it again with fsync on; check it answers a query as a primary with fsync
#            on; record where recovery stopped (@@stopped / @@last from the server log); pin it as a restore of
#            SOURCE; remove WALDIR
#   drop     stop and remove the cluster this restore made (only a cluster carrying this restore's marker), STAGE, WALDIR
#   uncreate the same, the cluster only (STAGE and WALDIR kept)
set -eu
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C TZ=UTC
fail() { printf 'ironclad-pitr-restore: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'ironclad-pitr-restore: refused: %s\n' "$*" >&2; exit 3; }
# STAGE, WALDIR, the cluster's data and configuration folders and its log are postgres' own, where postgres (and
# whoever runs code as it) can plant a link: root never writes, changes or reads a file there; postgres does.
pg() { runuser -u postgres -- "$@"; }
# stdin into file $1 (postgres' folder), whole or not at all
put() { pg sh -c 'umask 022; rm -f "$1.tmp" && cat > "$1.tmp" && mv "$1.tmp" "$1"' sh "$1"; }
cd / || exit 1
bin=/usr/lib/postgresql/$VERSION/bin
conf=/etc/postgresql/$VERSION/$CLUSTER
data=/var/lib/postgresql/$VERSION/$CLUSTER
log=/var/log/postgresql/postgresql-$VERSION-$CLUSTER.log
marker=$conf/conf.d/ironclad-pitr.conf
q() { runuser -u postgres -- "$bin/psql" -X -A -t -q -h /var/run/postgresql -p "$PGPORT" -d postgres -c "$1" 2> /dev/null; }
running() { [ -f "$data/postmaster.pid" ] && kill -0 "$(head -n 1 "$data/postmaster.pid")" 2> /dev/null; }

# every file of the data directory on disk: one syncfs of its file system (all it holds; the base refuses links, so
# pg_wal and everything else are on it) where the kernel reports a failed write to syncfs (Linux 5.8 on), else
# initdb --sync-only (an fsync per file and folder: a device flush each, seconds for a thousand files)
durable() {
  case "$(uname -r)" in
    [0-4].* | 5.[0-7].* | 5.[0-7]-*) pg "$bin/initdb" --sync-only -D "$data" > /dev/null ;;
    *) pg sync -f "$data" ;;
  esac
}
# its_version: the cluster of this name, of whatever version it is (the one its configuration or data folder has)
its_version() {
  for c in /etc/postgresql/*/"$CLUSTER" /var/lib/postgresql/*/"$CLUSTER"; do [ -d "$c" ] || continue; VERSION=$(basename "$(dirname "$c")"); done
  bin=/usr/lib/postgresql/$VERSION/bin conf=/etc/postgresql/$VERSION/$CLUSTER data=/var/lib/postgresql/$VERSION/$CLUSTER
  log=/var/log/postgresql/postgresql-$VERSION-$CLUSTER.log marker=$conf/conf.d/ironclad-pitr.conf
}
# drop_cluster: stop and remove the cluster of this name when a restore made it (it carries the marker), whatever its
# version: the one its configuration folder has (an interrupted restore's, or one made for another version than the base's)
drop_cluster() {
  its_version
  [ -f "$marker" ] && grep -q '^# ironclad pitr restore of ' "$marker" || return 0
  pg tail -n 8 "$log" 2> /dev/null | tr -c '[:print:]\n' '?' | sed 's/^/@@log /'
  pg_dropcluster --stop "$VERSION" "$CLUSTER" > /dev/null 2>&1 || { running && runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m immediate stop > /dev/null 2>&1; pg_dropcluster "$VERSION" "$CLUSTER" > /dev/null 2>&1; } || true
  rm -f "$PIN"
  # (pg_dropcluster leaves a conf.d holding files it does not know: the marker; a later restore of that name, or a
  # create, would find the folder and refuse)
  pg rm -f "$marker" "$marker.tmp"; pg rmdir "$conf/conf.d" "$conf" 2> /dev/null || true
}
waiting="# ironclad pitr restore of $SOURCE: made, waiting for the base backup"  # (made before the base is chosen)
# create: the empty cluster (initdb), on its own while the base and WAL are fetched; make does it when create did not
create() {
  [ -x "$bin/postgres" ] || fail "PostgreSQL $VERSION server binaries are not installed on this host"
  [ ! -e "$conf" ] && [ ! -e "$data" ] || refuse "cluster $VERSION/$CLUSTER already exists on this host"
  used=$(pg_lsclusters -h 2> /dev/null | awk -v p="$PGPORT" '$3 == p { print $1 "/" $2 " (" $4 ")" }')
  [ -z "$used" ] || refuse "port $PGPORT belongs to cluster $used on this host: a restore never goes over or beside a cluster on its port (choose another --port)"
  if ss -Hltn 2> /dev/null | awk -v p=":$PGPORT" '$4 ~ p "$" { f = 1 } END { exit !f }'; then refuse "something listens on port $PGPORT on this host (choose another --port)"; fi
  made=$(mktemp /tmp/ironclad-pitr-create.XXXXXX)
  pg_createcluster --port "$PGPORT" --start-conf manual "$VERSION" "$CLUSTER" -- --no-sync > "$made" 2>&1 ||
    { why=$(tail -n 2 "$made"); rm -f "$made"; fail "pg_createcluster failed: $why"; }
  rm -f "$made"
  # from here on this cluster is this restore's own: the marker says so (drop removes nothing else)
  pg mkdir -p "$conf/conf.d" || fail "postgres cannot make $conf/conf.d"
  printf '%s\n' "$waiting" | put "$marker" || fail "cannot write $marker"
}

# unfinished: the cluster of this name is a restore of SOURCE that was never said done (its marker's first line)
unfinished() {
  first=$(pg head -n 1 "$marker" 2> /dev/null || true)
  case "$first" in
    "# ironclad pitr restore of $SOURCE: made, waiting for the base backup" | "# ironclad pitr restore of $SOURCE (base "*"): made, waiting for the base backup" | \
      "# ironclad pitr restore of $SOURCE (base "*"): recovery in progress" | \
      "# ironclad pitr restore of $SOURCE (base "*"): promoted, being synced to disk") return 0 ;;
  esac
  return 1
}
# in_use DIR...: a process works in one of them (its folder, or a file it holds open): a restore of this name under way
in_use() {
  for d in "$@"; do
    [ ! -e "$d" ] || [ -z "$(find /proc -mindepth 2 -maxdepth 3 \( -path '/proc/[0-9]*/cwd' -o -path '/proc/[0-9]*/fd/*' \) \( -lname "$d" -o -lname "$d/*" \) -print -quit 2> /dev/null)" ] || return 0
  done
  return 1
}

case "$MODE" in
  reclaim)
    # (what it replayed with fsync off, or fetched, is not to be trusted after a crash: never resumed, made anew; a
    # cluster of this name that is not such a restore, or a restore of this name under way, is refused: nothing of it
    # is touched, nor dropped when this restore fails)
    its_version
    if [ -e "$conf" ] || [ -e "$data" ]; then
      unfinished || refuse "cluster $VERSION/$CLUSTER already exists on this host (choose another --cluster)"
      ! running && ! in_use "$STAGE" "$WALDIR" || refuse "cluster $VERSION/$CLUSTER is a restore of $SOURCE still under way (another restore under this name?): choose another --cluster"
      drop_cluster > /dev/null
      pg rm -rf "$WALDIR" "$STAGE"
      printf '@@reclaimed %s\n' "${first#\# }" | tr -c '[:print:]\n' '?'  # (postgres' file: no byte of it reaches a terminal raw)
    elif [ -e "$STAGE" ] || [ -e "$WALDIR" ]; then
      ! in_use "$STAGE" "$WALDIR" || refuse "a restore into cluster $CLUSTER is fetching (another restore under this name?): choose another --cluster"
      pg rm -rf "$WALDIR" "$STAGE"
      echo "@@reclaimed what a restore under this name had fetched before it stopped"
    fi ;;
  create) create; echo '@@created' ;;
  make)
    # (where the time goes: ms since make began, at each stage, in @@took)
    t0=$(date +%s%3N) took=''
    at() { took="$took $1 $(($(date +%s%3N) - t0))"; }
    [ -d "$STAGE/data" ] || fail "the fetched base backup is not in $STAGE"
    case "$WALDIR" in '' | *[!A-Za-z0-9/._-]*) fail "the WAL folder $WALDIR is not a plain path" ;; esac
    # (a stage `created` only when the cluster was not made meanwhile: initdb then lies on the restore's critical path)
    [ "$(pg head -n 1 "$marker" 2> /dev/null)" = "$waiting" ] || { create; at created; }
    printf "# ironclad pitr restore of %s (base %s): recovery in progress\n" "$SOURCE" "$BASE" | put "$marker" || fail "cannot write $marker"
    pg rm -rf "$data" && pg mv "$STAGE/data" "$data" || fail "cannot put the base backup in place as $data"
    at placed
    # what the source's data directory carried that must not act here (postgresql.auto.conf kept aside)
    pg sh -c 'cd "$1" && { [ ! -f postgresql.auto.conf ] || mv postgresql.auto.conf postgresql.auto.conf.source; } &&
      rm -f postmaster.pid postmaster.opts standby.signal recovery.signal postgresql.conf pg_hba.conf pg_ident.conf &&
      : > postgresql.auto.conf && { [ ! -d pg_replslot ] || find pg_replslot -mindepth 1 -maxdepth 1 -exec rm -rf {} +; } &&
      mkdir -p pg_wal/archive_status && chmod 700 .' sh "$data" || fail "cannot ready the base backup in $data"
    {
      printf "# ironclad pitr restore of %s (base %s): recovery in progress\n" "$SOURCE" "$BASE"
      # the restore_command: a segment from WALDIR; while ironclad still fetches (WALDIR/.fetching), one not yet there
      # is waited for (the replay starts before the fetch ends); the flag stays after a failed fetch: recovery never
      # ends early. A hard link where it can (both postgres' own, on one disk: no 16 MB copy written per segment), else
      # a copy. Written out here, not a script of its own: one shell less per segment (WALDIR is a checked path)
      printf "restore_command = 'w=%s; while [ ! -f \"\$w/%%f\" ] && [ -f \"\$w/.fetching\" ]; do sleep 0.05; done; ln \"\$w/%%f\" \"%%p\" 2> /dev/null || exec cp \"\$w/%%f\" \"%%p\"'\n" "$WALDIR"
      if [ -n "$TARGET" ]; then
        printf "recovery_target_time = '%s'\nrecovery_target_inclusive = on\n" "$TARGET"
      elif [ -n "$POINT" ]; then
        printf "recovery_target_name = '%s'\n" "$POINT"
      fi
      printf "recovery_target_timeline = 'current'\nrecovery_target_action = 'promote'\n"
      # nothing fsynced while the WAL is replayed (the server would first fsync the whole data directory, then every
      # file the end-of-recovery checkpoint wrote); finish makes it durable, the server stopped, and restarts it with
      # fsync on before the restore is said to be done
      printf "fsync = off\n"
      printf "archive_mode = off\nport = %s\n" "$PGPORT"
    } | put "$marker" || fail "cannot write $marker"
    pg touch "$data/recovery.signal"
    at readied
    # the base's files (what tar just wrote, in memory) written to disk beside the replay, then every second what the
    # replay wrote (syncfs of the data directory's file system), until the server is promoted (its recovery.signal
    # gone), stops, or an hour of it. Only a head start: the server replays with fsync off, and finish syncs
    # everything, the server stopped, before the restore is done
    pg nice -n 5 sh -c 'sync -f "$1"; i=0
      while [ -f "$1/recovery.signal" ] && [ -f "$1/postmaster.pid" ] && [ "$i" -lt 3600 ]; do sleep 1; i=$((i + 1)); sync -f "$1"; done' sh "$data" < /dev/null > /dev/null 2>&1 &
    [ -d /var/run/postgresql ] || install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    # not waited for: recovery may take long; the caller watches it (status) and shows its progress
    cd / && su postgres -s /bin/sh -c 'exec env -i setsid "$0/pg_ctl" start -W -s -D "$1" -l "$2" -o "-c config_file=$3/postgresql.conf" < /dev/null' "$bin" "$data" "$log" "$conf" ||
      fail "the restored server did not start: $(pg tail -n 3 "$log" 2> /dev/null)"
    at launched
    # (pg_ctl -W returns before the server wrote its pid file: wait for it, or for the server's end)
    i=0
    until running; do
      i=$((i + 1))
      [ "$i" -le 1200 ] || fail "the restored server did not start: $(pg tail -n 3 "$log" 2> /dev/null | tr -c '[:print:]\n' '?')"
      sleep 0.05
    done
    at running
    printf '@@made\n@@took%s\n' "$took" ;;
  status)
    # (up to a second: the server's pid file says ready once it is promoted and takes connections)
    i=0
    while running && [ "$i" -lt 10 ] && [ "$(pg sed -n '8{s/ *$//;p;}' "$data/postmaster.pid" 2> /dev/null)" != ready ]; do
      i=$((i + 1))
      sleep 0.1
    done
    if ! running; then echo '@@state down'; pg tail -n 5 "$log" 2> /dev/null | tr -c '[:print:]\n' '?' | sed 's/^/@@log /'; exit 0; fi
    r=$(q 'SELECT pg_is_in_recovery()') || r=''
    case "$r" in
      t) echo '@@state recovering'; printf '@@replay %s\n' "$(q 'SELECT pg_last_wal_replay_lsn()' | tr -dc '0-9A-F/')" ;;
      f) echo '@@state promoted' ;;
      *) echo '@@state starting'; printf '@@replay %s\n' "$(pg cat "$log" 2> /dev/null | tr -c '[:print:]\n' '?' | sed -n 's/.*redo in progress, elapsed time: .*current LSN: \([0-9A-F\/]*\).*/\1/p' | tail -n 1)" ;;
    esac ;;
  finish)
    t0=$(date +%s%3N) took=''
    at() { took="$took $1 $(($(date +%s%3N) - t0))"; }
    [ "$(q 'SELECT pg_is_in_recovery()')" = f ] || fail "the restored cluster $VERSION/$CLUSTER is not a promoted primary"
    # (the marker says "being synced" until the server runs again from what is on disk: a crash before that leaves a
    # restore that reclaim makes anew, never one taken for finished)
    done_marker() { printf "# ironclad pitr restore of %s (base %s%s): %s\narchive_mode = off\nport = %s\n" "$SOURCE" "$BASE" "$1" "$2" "$PGPORT" | put "$marker"; }
    done_marker '' 'promoted, being synced to disk' || fail "cannot write $marker"
    # it replayed and promoted with fsync off (make): stopped cleanly (nothing writes then), every file of its data
    # directory and WAL synced to disk, started again with fsync on (the settings just written): what it holds is on
    # disk before the restore says so, and what it writes from now on is fsynced as usual
    pg "$bin/pg_ctl" stop -D "$data" -m fast -w -t 300 -s > /dev/null 2>&1 || fail "the restored server did not stop (to be synced to disk): $(pg tail -n 3 "$log" 2> /dev/null | tr -c '[:print:]\n' '?')"
    at stopped
    durable || fail "the restored cluster's files could not be synced to disk"
    at synced
    cd / && su postgres -s /bin/sh -c 'exec env -i setsid -w "$0/pg_ctl" start -w -t 300 -s -D "$1" -l "$2" -o "-c config_file=$3/postgresql.conf" < /dev/null' "$bin" "$data" "$log" "$conf" ||
      fail "the restored server did not start again after its sync: $(pg tail -n 3 "$log" 2> /dev/null | tr -c '[:print:]\n' '?')"
    at started
    [ "$(q 'SHOW fsync')" = on ] || fail "the restored cluster $VERSION/$CLUSTER does not run with fsync on after its sync"
    [ "$(q 'SELECT pg_is_in_recovery()')" = f ] || fail "the restored cluster $VERSION/$CLUSTER is not a primary after its restart"
    done_marker ", to ${TARGET:-the end of the archive}" "promoted $(date -u +%Y-%m-%dT%H:%M:%SZ), on disk" || fail "cannot write $marker"
    sysid=$(q 'SELECT system_identifier FROM pg_control_system()') || fail "the restored cluster does not answer"
    dbs=$(q 'SELECT count(*) FROM pg_database WHERE datallowconn') || fail "the restored cluster does not answer"
    printf '@@sysid %s\n@@databases %s\n' "$sysid" "$dbs"
    # where recovery stopped, as the server logged it (times only)
    pg cat "$log" | tr -c '[:print:]\n' '?' | sed -n 's/.*recovery stopping \(before\|after\) commit of transaction [0-9]*, time \([0-9-]* [0-9:.]*[ +-][A-Z0-9:]*\)$/@@stopped \1 \2/p' | tail -n 1
    pg cat "$log" | tr -c '[:print:]\n' '?' | sed -n 's/.*last completed transaction was at log time \([0-9-]* [0-9:.]*[ +-][A-Z0-9:]*\)$/@@last \1/p' | tail -n 1
    mkdir -p "$(dirname "$PIN")" && chmod 700 "$(dirname "$PIN")"
    printf '{"cluster":"%s","version":%s,"port":%s,"data_directory":"%s","system_identifier":"%s","restored_from":"%s","base":"%s","target":"%s","pinned_at":"%s"}\n' \
      "$CLUSTER" "$VERSION" "$PGPORT" "$data" "$sysid" "$SOURCE" "$BASE" "${TARGET:-latest}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$PIN.tmp" && mv "$PIN.tmp" "$PIN"
    pg rm -rf "$WALDIR" "$STAGE"
    printf '@@took%s\n' "$took" ;;
  drop | uncreate)
    drop_cluster
    [ "$MODE" = uncreate ] || pg rm -rf "$WALDIR" "$STAGE" ;;
  *) fail "unknown mode $MODE" ;;
esac
