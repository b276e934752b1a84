# --- body: continuous archiving on the store (POSIX sh). ROOT, MIN_FREE, HOSTS, SPOOL, CONF, PGBIN, TMPFS_SIZE, POLL,
# ALERT, PITR_USER are rendered above by `ironclad apply` (HOSTS: one line per database host, `HOST ADDR PORT CLUSTER STALL_S`).
# The store pulls: pg_receivewal on the host's slot into a tmpfs spool, each completed segment compressed and
# age-encrypted into ROOT/pitr/HOST/wal/ (fsync, rename, fsync) before its plaintext goes; pg_basebackup likewise into ROOT/pitr/HOST/base/.
# Everything the database host sends is hostile: names are checked against fixed shapes, sizes bounded, no path from
# the stream is followed, times are data (the store's clock says when WAL last arrived), the disk keeps MIN_FREE.
# Privileges are separated: every program that parses what the host sends or wrote (pg_receivewal, pg_basebackup, psql,
# pg_waldump, tar) runs as PITR_USER (as_pitr), never root, and the spool SP is that user's; root keeps the archive and
# its own files (ST: logs, the placeholder's name, the passfile it hands PITR_USER) and reads the spool only as PITR_USER.
#   ironclad-pitr receive HOST | base HOST | prune HOST BASES DAYS [--dry-run] | status [HOST] | health [--no-alert]
#   ironclad-pitr record HOST < drill.json | partial HOST SEGMENT (sudo, for readers) | reader H,... pitr-VERB ...
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C TZ=UTC
umask 027
cd / || exit 1

die() { printf 'ironclad-pitr: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'ironclad-pitr: refused: %s\n' "$*" >&2; exit 3; }
say() { printf '%s ironclad-pitr %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
host_ok() { case "$1" in '' | .* | *[!A-Za-z0-9._-]*) return 1 ;; *) [ "${#1}" -le 100 ] ;; esac; }
hex_ok() { case "$1" in *[!0-9A-F]*) return 1 ;; *) [ "${#1}" -eq "$2" ] ;; esac; }
seg_ok() { hex_ok "$1" 24; }
hist_ok() { case "$1" in *.history) hex_ok "${1%.history}" 8 ;; *) return 1 ;; esac; }
id_ok() { case "$1" in [0-9][0-9][0-9][0-9][0-1][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9]Z) ;; *) return 1 ;; esac; }
lsn_ok() { # X/Y, each 1 to 8 upper-case hex digits
  case "$1" in */*) ;; *) return 1 ;; esac
  set -- "${1%%/*}" "${1#*/}"
  [ -n "$1" ] && [ -n "$2" ] && [ "${#1}" -le 8 ] && [ "${#2}" -le 8 ] && case "$1$2" in *[!0-9A-F]*) return 1 ;; esac
}
alert() { say "ALERT $*"; [ -z "$ALERT" ] || sh -c "$ALERT \"\$1\"" ironclad-alert "ironclad pitr $(hostname): $*" || true; }

# load HOST: its line of HOSTS (unknown hosts are refused), its paths
load() {
  host_ok "$1" || die "bad host name '$1'"
  line=$(printf '%s\n' "$HOSTS" | awk -v h="$1" '$1 == h { print; exit }')
  [ -n "$line" ] || die "$1 does not archive here"
  # shellcheck disable=SC2086
  set -- $line
  H=$1 ADDR=$2 PORT=$3 CLUSTER=$4 STALL=$5
  A="$ROOT/pitr/$H" WAL="$ROOT/pitr/$H/wal" BASE="$ROOT/pitr/$H/base" INDEX="$ROOT/pitr/$H/wal.index" SP="$SPOOL/$H"
  ST="$SPOOL/.state/$H" RECIP="$CONF/$H.recipients"
  CONN="host=$ADDR port=$PORT user=ironclad_wal dbname=replication passfile=$ST/pgpass connect_timeout=10 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=30000 application_name=ironclad_pitr"
}

# as_pitr CMD...: CMD as PITR_USER, never root: no way back (no new privileges: no setuid program, no sudo; no
# capabilities), a clean environment (nothing of root's, no password), none of root's locks (fds 7, 9)
pitr_exec() { exec setpriv --reuid="$PITR_USER" --regid="$PITR_USER" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- env -i PATH="$PATH" LC_ALL=C TZ=UTC HOME=/nonexistent "$@"; }
as_pitr() { (pitr_exec "$@") 7>&- 9>&-; }

# state_dirs (after load): SPOOL and the host's state folder ST, root's (PITR_USER may only pass through), and the passfile
# PITR_USER reads there: a copy of root's (CONF), 0400, its alone; never on a command line
state_dirs() {
  id -u "$PITR_USER" > /dev/null 2>&1 || die "no user $PITR_USER on this store (pg_receivewal never runs as root): run ironclad apply"
  mkdir -p "$ST" && chown root:"$PITR_USER" "$SPOOL" "$SPOOL/.state" "$ST" && chmod 710 "$SPOOL" "$SPOOL/.state" "$ST" || die "cannot make $ST"
  [ -s "$CONF/$H.pgpass" ] || die "no archiving password of $H ($CONF/$H.pgpass): run ironclad apply"
  cmp -s "$CONF/$H.pgpass" "$ST/pgpass" 2> /dev/null ||
    { install -m 400 -o "$PITR_USER" -g "$PITR_USER" "$CONF/$H.pgpass" "$ST/.pgpass.$$" && mv -f "$ST/.pgpass.$$" "$ST/pgpass"; } || die "cannot hand $PITR_USER the archiving password of $H"
}

# plain NAME: NAME in the spool is a regular file of PITR_USER's with one link (find -P: no link is followed). What
# PITR_USER leaves there may be hostile: a symbolic link to /etc/shadow, a hard link to a file of another host
plain() { [ -n "$(find -P "$SP" -mindepth 1 -maxdepth 1 -name "$1" -type f -user "$PITR_USER" -links 1 -print -quit 2> /dev/null)" ]; }

# room NEED: bytes that may still be written keeping MIN_FREE free on ROOT's disk (exit 1 when fewer than NEED)
room() {
  df -Pk "$ROOT" | awk -v need="${1:-0}" -v min="$MIN_FREE" 'NR == 2 {
    total = $2 * 1024; avail = $4 * 1024; n = min + 0; u = substr(min, length(n "") + 1)
    if (u == "%") floor = total * n / 100; else floor = n * (u ~ /^K/ ? 1024 : u ~ /^M/ ? 1048576 : u ~ /^G/ ? 1073741824 : u ~ /^T/ ? 1099511627776 : 1)
    if (avail - need < floor) exit 1
    printf "%.0f\n", avail - floor }'
}

# squeeze: stdin compressed to stdout: zstd -1 (on a 700 MB tar here: 5.5x gzip -1's speed, zstd -d 6x gzip -d's), gzip -1 on a store without
# zstd; the restore's zstd -d reads both (the files keep their .gz.age names from the days of gzip)
squeeze() { if command -v zstd > /dev/null; then zstd -1 -q -c; else gzip -1; fi; }

# seal FILE MAX [SPOOLED]: encrypt stdin (or SPOOLED, a file of the spool, read as PITR_USER: a link swapped in reads
# nothing of root's), compressed (squeeze), with age to HOST's recipients into FILE (at most MAX bytes), fsynced, renamed
seal() {
  out=$1 max=$2 tmp="$(dirname "$1")/.$(basename "$1").$$"
  [ -s "$RECIP" ] || { rm -f "$tmp"; die "no recipients for $H ($RECIP): run ironclad apply"; }
  if [ -n "${3:-}" ]; then { as_pitr cat -- "$3" || echo read > "$tmp.rc"; } | sealed "$tmp" "$max"; else sealed "$tmp" "$max"; fi
  if [ -e "$tmp.rc" ] || [ "$(head -c 21 "$tmp")" != age-encryption.org/v1 ] || [ "$(stat -c %s "$tmp")" -ge "$max" ]; then
    rm -f "$tmp" "$tmp.rc"; return 1
  fi
  chmod 440 "$tmp" && sync "$tmp" && mv -f "$tmp" "$out" && sync "$(dirname "$out")"
}
sealed() { { squeeze || echo squeeze > "$1.rc"; } | age -R "$RECIP" | head -c "$2" > "$1"; }

# commit_of SPOOLED_SEGMENT: the newest commit time pg_waldump (run as PITR_USER) finds in it (ISO 8601 UTC, microseconds) or '-'
commit_of() {
  as_pitr timeout 60 "$PGBIN/pg_waldump" "$1" 2> /dev/null | awk '
    / desc: COMMIT(_PREPARED)? [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)? UTC/ {
      s = $0; sub(/.* desc: COMMIT(_PREPARED)? /, "", s); t = substr(s, 1, index(s, " UTC") - 1)
      if (index(t, ".") == 0) t = t ".000000"; while (length(t) < 26) t = t "0"; t = substr(t, 1, 26)
      sub(/ /, "T", t); last = t "Z" }
    END { print (last == "" ? "-" : last) }'
}

# archive_one NAME: a completed segment or timeline history file of the spool, encrypted into the archive
archive_one() {
  n=$1 f="$SP/$1"
  [ -e "$f" ] || [ -L "$f" ] || return 0
  [ "$n" != "$(cat "$ST/placeholder" 2> /dev/null)" ] || return 0  # (sparse zeros: never archived, whatever happens)
  # only a plain file of PITR_USER's with one link is archived, read as PITR_USER (seal): anything else is refused, loudly
  if ! plain "$n"; then
    alert "$H: refused $n in the spool ($(stat -c '%F of %U, %h links' "$f" 2> /dev/null | tr -cd '[:alnum:] ,_-')): not a plain file of $PITR_USER with one link; removed, never archived"
    as_pitr rm -rf -- "$f"; return 0
  fi
  size=$(stat -c %s "$f")
  if hist_ok "$n"; then
    [ "$size" -le 65536 ] || { alert "$H sent a timeline history file of $size bytes ($n): dropped"; as_pitr rm -f -- "$f"; return 0; }
    out="$WAL/$n.gz.age" summary=''
  else
    case "$size" in 1048576 | 2097152 | 4194304 | 8388608 | 16777216 | 33554432 | 67108864 | 134217728 | 268435456 | 536870912 | 1073741824) ;;
      *) alert "$H sent a segment of $size bytes ($n): dropped"; as_pitr rm -f -- "$f"; return 0 ;; esac
    [ -f "$A/segsize" ] || { printf '%s\n' "$size" > "$A/segsize.tmp" && mv "$A/segsize.tmp" "$A/segsize"; }
    [ "$(cat "$A/segsize")" = "$size" ] || { alert "$H changed its segment size to $size bytes ($n): dropped"; as_pitr rm -f -- "$f"; return 0; }
    out="$WAL/$n.gz.age" summary="$n $(lsn_at "$n" "$size" 0) $(lsn_at "$n" "$size" 1) $(commit_of "$f")"
  fi
  if [ -e "$out" ]; then as_pitr rm -f -- "$f"; return 0; fi  # fetched again: the first copy stays
  max=$(room "$size") || { stop_reason "less than $MIN_FREE would stay free on the store"; return 1; }
  seal "$out" "$max" "$f" || { stop_reason "cannot encrypt $n into $WAL"; return 1; }
  [ -z "$summary" ] || { printf '%s %s\n' "$summary" "$(stat -c %s "$out")" >> "$INDEX" && sync "$INDEX"; }
  as_pitr rm -f -- "$f"
  # the newest archived segment stays as a sparse file of its size (no plaintext, no memory): a restarted
  # pg_receivewal resumes after it instead of fetching from the slot's older position again
  if [ -n "$summary" ]; then
    old=$(cat "$ST/placeholder" 2> /dev/null)
    [ -z "$old" ] || [ "$old" = "$n" ] || as_pitr rm -f -- "$SP/$old"
    as_pitr truncate -s "$size" "$f" && printf '%s\n' "$n" > "$ST/placeholder"
  fi
}

# lsn_at SEGMENT SEGSIZE END: the LSN a segment starts at (END=0) or ends at (END=1), computed from its name
lsn_at() {
  awk -v n="$1" -v size="$2" -v e="$3" 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
    BEGIN { b = hex(substr(n, 9, 8)) * 4294967296 + (hex(substr(n, 17, 8)) + e) * size; hi = int(b / 4294967296); printf "%X/%X\n", hi, b - hi * 4294967296 }'
}

stop_reason() { printf '%s\n' "$*" > "$A/stopped"; }

# drain: every completed file of the spool, oldest first, until one cannot be archived
drain() {
  for f in "$SP"/*; do
    n=${f##*/}
    if seg_ok "$n" || hist_ok "$n"; then archive_one "$n" || return 1; drained=1
    elif [ -e "$f" ] || [ -L "$f" ]; then case "$n" in *.partial) seg_ok "${n%.partial}" && [ ! -L "$f" ] || as_pitr rm -rf -- "$f" ;; *) as_pitr rm -rf -- "$f" ;; esac; fi
  done
  return 0
}

# peek: the newest commit time in the current partial segment, and the store's time of its last change
peek() {
  p=$(find -P "$SP" -mindepth 1 -maxdepth 1 -type f -name '*.partial' -user "$PITR_USER" -links 1 -printf '%T@ %f\n' | sort -n | tail -n 1)
  [ -n "$p" ] || return 0
  m=${p%% *} t=${p%%.*} n=${p##* }; n=${n%.partial}  # (m: the mtime to the nanosecond: a write in the same second is seen)
  seg_ok "$n" || return 0
  [ "$m" != "$(cat "$ST/peeked" 2> /dev/null)" ] || return 0
  # (pg_waldump wants a segment's name: a symbolic link of that name, made and read as PITR_USER; a hard link would
  # give the segment a second link when pg_receivewal completes it meanwhile, and the drain would refuse it)
  as_pitr mkdir -p "$SP/.peek" && as_pitr ln -sfn "../$n.partial" "$SP/.peek/$n" 2> /dev/null || return 0
  c=$(commit_of "$SP/.peek/$n"); as_pitr rm -f -- "$SP/.peek/$n"
  printf '%s %s %s\n' "$n" "$c" "$t" > "$A/latest.tmp" && mv "$A/latest.tmp" "$A/latest"
  printf '%s\n' "$m" > "$ST/peeked"
}

# receive HOST: the long-running receiver (one per host: a second start exits at once)
receive() {
  load "$1"
  state_dirs
  mkdir -p "$SP" "$WAL" "$BASE"
  [ -s "$A/since" ] || date -u +%Y-%m-%dT%H:%M:%SZ > "$A/since"  # when archiving began, by the store's clock (drills are due from it)
  exec 9> "$SPOOL/$H.lock"
  flock -n 9 || exit 0
  echo $$ > "$SPOOL/$H.pid"  # (apply ends this pid when the script changes, and starts the new one where cron or systemd does not)
  own_spool
  pid='' wait_until=0 backoff=5 said=''
  trap '[ -z "$pid" ] || { kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; }; exit 0' TERM INT HUP
  while :; do
    ok=1 quiet='' drained=''; drain || ok=0
    pending=$(find "$SP" -maxdepth 1 -type f ! -name '*.partial' ! -name '.*' | wc -l)
    # (one is the placeholder; receiving faster than the archive encrypts is a pause of a moment, not an alert)
    [ "$pending" -lt 4 ] || { ok=0; quiet=1; stop_reason "$((pending - 1)) segments wait for the archive"; }
    room $((2 * $(cat "$A/segsize" 2> /dev/null || echo 16777216))) > /dev/null || { ok=0; stop_reason "less than $MIN_FREE would stay free on the store"; }
    [ "$ok" = 0 ] || [ "$(df -Pk "$SP" | awk 'NR == 2 { print $4 * 1024 }')" -ge $((3 * $(cat "$A/segsize" 2> /dev/null || echo 16777216))) ] || { ok=0; stop_reason "the spool $SP is full (segments wait for the archive)"; }
    if [ "$ok" = 0 ]; then  # production keeps the WAL meanwhile, up to max_slot_wal_keep_size
      [ -z "$pid" ] || { kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; pid=''; }
      [ -n "$said" ] || [ -n "$quiet" ] || { said=1; alert "$H: receiving stopped: $(cat "$A/stopped" 2> /dev/null)"; }
    else
      [ -z "$said" ] || { said=''; say "$H: receiving again"; }
      rm -f "$A/stopped"
      if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then  # it stopped (link down, server gone): again, with backoff
        wait "$pid" 2> /dev/null; pid=''
        # a full spool (a burst faster than the last poll drained it) is drained by now: again at once, no backoff
        if tail -n 3 "$ST/log" 2> /dev/null | grep -q 'No space left on device\|could not open write-ahead log file\|could not write'; then backoff=5 wait_until=0
        else wait_until=$(($(date +%s) + backoff)); [ "$backoff" -ge 60 ] || backoff=$((backoff * 2)); fi
        slot_trouble
      elif [ -n "$pid" ]; then backoff=5; touch "$ST/alive"; fi  # connected a whole poll: current (keepalives end a dead link in ~30 s)
      if [ -z "$pid" ] && [ "$(date +%s)" -ge "$wait_until" ]; then
        mend_partial
        tail -n 50 "$ST/log" > "$ST/log.1" 2> /dev/null; mv -f "$ST/log.1" "$ST/log" 2> /dev/null
        state_dirs  # (the password as apply wrote it last)
        # as PITR_USER, in its spool (one process: $! is pg_receivewal itself); its log is root's, opened by root
        (pitr_exec "$PGBIN/pg_receivewal" -D "$SP" -d "$CONN" --slot=ironclad_pitr --no-loop -n -v --synchronous --status-interval=10) >> "$ST/log" 2>&1 7>&- 9>&- &
        pid=$!
      fi
    fi
    peek
    # while segments arrive (a backlog streams at the link's speed) the spool is drained every second, else every POLL
    if [ -n "$drained" ] || [ "$pending" -gt 1 ]; then sleep 1; else sleep "$POLL"; fi
  done
}

# mend_partial: a partial segment cut short (the spool filled up, the store lost power) is padded with zeroes to a whole
# segment: pg_receivewal refuses any other size, and streams that segment again from its start over the zeroes
mend_partial() {
  for f in "$SP"/*.partial; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    size=$(stat -c %s "$f") want=$(cat "$A/segsize" 2> /dev/null || echo 16777216)
    [ "$size" = 0 ] || [ "$size" = "$want" ] || { say "$H: ${f##*/} was cut short at $size bytes: padded, streamed again from its start"; as_pitr truncate -s "$want" "$f"; }
  done
}

# own_spool (the receiver's lock held, no pg_receivewal of this host running): the spool is PITR_USER's, mode 0700 (a
# tmpfs mounted for it). A spool root made (a receiver from before it ran as PITR_USER) is handed over: root's own
# files move out of it first, then it is chowned while no process of PITR_USER's can write in it (it is root's, 0700)
own_spool() {
  if [ -n "$TMPFS_SIZE" ] && ! mountpoint -q "$SP"; then
    chown root:root "$SP" && chmod 700 "$SP" || die "cannot take $SP"
    [ -z "$(ls -A "$SP")" ] || rm -rf "${SP:?}"/* "$SP"/.[!.]*
    mount -t tmpfs -o "size=$TMPFS_SIZE,mode=700,uid=$(id -u "$PITR_USER"),gid=$(id -g "$PITR_USER"),nosuid,nodev,noexec" "ironclad-pitr-$H" "$SP" || die "cannot mount the spool $SP"
  fi
  [ "$(stat -c %U "$SP")" != "$PITR_USER" ] || return 0
  [ "$(stat -c %U "$SP")" = root ] || die "the spool $SP is $(stat -c %U "$SP")'s, neither root's nor $PITR_USER's: refused"
  chmod 700 "$SP"
  for f in placeholder peeked log; do [ ! -f "$SP/.$f" ] || [ -L "$SP/.$f" ] || mv -f "$SP/.$f" "$ST/$f"; done
  rm -rf "$SP/.peek" "$SP/.alive" "$SP/.log.1" "$SP/.log.prev" "$SP/.base.log"
  chown -R -P "$PITR_USER:$PITR_USER" "$SP" || die "cannot hand the spool $SP to $PITR_USER"
  say "$H: the spool $SP is $PITR_USER's: pg_receivewal runs as $PITR_USER, not root"
}

# slot_trouble: after pg_receivewal stopped: a slot whose WAL production removed (max_slot_wal_keep_size reached) is
# made again from now; the archive then has a gap, which status and health name until the next base backup
slot_trouble() {
  # a segment asked again that the archive holds already (pg_receivewal restarted from an older file): not a gap;
  # what the spool holds of it and before goes, and the next start follows the slot
  asked=$(sed -n 's/.*requested WAL segment \([0-9A-F]\{24\}\) has already been removed.*/\1/p' "$ST/log" | tail -n 1)
  if [ -n "$asked" ] && [ -f "$WAL/$asked.gz.age" ]; then
    say "$H: the server no longer has $asked, which the archive holds: starting after it ($(find "$SP" -maxdepth 1 -type f ! -name '.*' -printf '%f ')))"
    for f in "$SP"/*; do n=${f##*/}; n=${n%.partial}; seg_ok "$n" && [ "$(printf '%s\n%s\n' "$n" "$asked" | sort | head -n 1)" = "$n" ] && as_pitr rm -f -- "$f"; done
    mv -f "$ST/log" "$ST/log.prev"; return 0
  fi
  if grep -q 'has already been removed\|has been invalidated\|cannot be used\|does not exist' "$ST/log" 2> /dev/null; then
    alert "$H: the slot lost WAL the store had not received (max_slot_wal_keep_size reached, or the slot is gone): a gap; made again from now, a base backup follows ($(grep -m 1 'has already been removed\|has been invalidated\|cannot be used\|does not exist' "$ST/log" | head -c 300))"
    # (made with RESERVE_WAL: it keeps WAL from now, so the base backup that follows has all it needs)
    as_pitr timeout 60 "$PGBIN/psql" -X -q -c 'DROP_REPLICATION_SLOT ironclad_pitr' "$CONN replication=true" > /dev/null 2>&1
    as_pitr timeout 60 "$PGBIN/psql" -X -q -c 'CREATE_REPLICATION_SLOT ironclad_pitr PHYSICAL RESERVE_WAL' "$CONN replication=true" >> "$ST/log" 2>&1 || return 0
    # nothing of the old position may stay in the spool (the placeholder would make pg_receivewal ask for it again)
    drain; p=$(cat "$ST/placeholder" 2> /dev/null); [ -z "$p" ] || as_pitr rm -f -- "$SP/$p"
    as_pitr find "$SP" -mindepth 1 -maxdepth 1 -name '*.partial' -delete; rm -f "$ST/placeholder"; mv -f "$ST/log" "$ST/log.prev"
    setsid "$0" base "$H" > /dev/null 2>> "$ST/base.log" < /dev/null 9>&- &
  fi
}

# base HOST: a base backup now, encrypted as it is written, sealed with the store's id and times
base() {
  load "$1"
  state_dirs
  mkdir -p "$BASE"
  exec 7> "$SPOOL/$H.base.lock"
  flock -n 7 || refuse "a base backup of $H is running"
  max=$(room 0) || refuse "less than $MIN_FREE would stay free on the store: no base backup of $H"
  id=$(date -u +%Y%m%dT%H%M%SZ); start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  while [ -e "$BASE/$id" ]; do sleep 1; id=$(date -u +%Y%m%dT%H%M%SZ); start=$(date -u +%Y-%m-%dT%H:%M:%SZ); done
  work="$BASE/.$id.$$"; rm -rf "$work"; mkdir -m 750 "$work"
  trap 'rm -rf "$work"' EXIT
  ident=$(as_pitr timeout 60 "$PGBIN/psql" -X -A -t -F ' ' -c IDENTIFY_SYSTEM "$CONN replication=true" 2> "$work/log") || die "$H: IDENTIFY_SYSTEM failed: $(tail -n 1 "$work/log")"
  # shellcheck disable=SC2086
  set -- $ident
  sysid=${1:-} tli=${2:-}
  case "$sysid$tli" in '' | *[!0-9]*) die "$H: not a system identifier and timeline: $(printf '%s' "$ident" | head -c 80)" ;; esac
  [ "${#sysid}" -le 20 ] && [ "${#tli}" -le 10 ] || die "$H: a system identifier or timeline out of range"
  # the WAL range is read from the manifest at the end of the tar stream as it passes (only its last 4 KiB are kept);
  # pg_basebackup and tar as PITR_USER, writing to pipes root opened: no file of the backup is ever in plaintext
  mkfifo "$work/tap"
  { as_pitr tar -xOf - backup_manifest 2> /dev/null | tail -c 4096 > "$work/ranges"; cat > /dev/null; } < "$work/tap" &
  { as_pitr "$PGBIN/pg_basebackup" -d "$CONN" -Ft -D - -X none --checkpoint=fast -P 2> "$work/log" || echo 1 > "$work/rc"; } | tee -p "$work/tap" | seal "$work/base.tar.gz.age" "$max" ||
    die "$H: the base backup did not fit in the space the store can spare ($max bytes), or could not be encrypted"
  wait
  [ ! -e "$work/rc" ] || die "$H: pg_basebackup failed: $(tr '\r' '\n' < "$work/log" | grep -v ' kB (' | tail -n 2 | tr '\n' ' ')"
  ranges=$(sed -n 's/^{ "Timeline": \([0-9]\{1,10\}\), "Start-LSN": "\([0-9A-F]\{1,8\}\/[0-9A-F]\{1,8\}\)", "End-LSN": "\([0-9A-F]\{1,8\}\/[0-9A-F]\{1,8\}\)" },\{0,1\}$/\1 \2 \3/p' "$work/ranges")
  from="$(printf '%s\n' "$ranges" | head -n 1 | cut -d' ' -f2) $(printf '%s\n' "$ranges" | head -n 1 | cut -d' ' -f1)"
  to=$(printf '%s\n' "$ranges" | tail -n 1 | cut -d' ' -f3)
  lsn_ok "${from% *}" && lsn_ok "$to" || die "$H: the backup's manifest does not say its WAL range"
  rm -f "$work/tap" "$work/ranges"
  end=$(date -u -d "@$(($(date -u +%s) + 1))" +%Y-%m-%dT%H:%M:%SZ) bytes=$(stat -c %s "$work/base.tar.gz.age")
  printf '{"id":"%s","host":"%s","start_lsn":"%s","end_lsn":"%s","start_time":"%s","end_time":"%s","timeline":%s,"system_identifier":"%s","bytes":%s}\n' \
    "$id" "$H" "${from% *}" "$to" "$start" "$end" "${from#* }" "$sysid" "$bytes" > "$work/backup.json"
  rm -f "$work/log" && chmod 440 "$work/backup.json" && sync "$work/backup.json" "$work" && mv "$work" "$BASE/$id" && sync "$BASE" || die "cannot put $id in place"
  trap - EXIT
  printf 'base %s %s %s..%s %s bytes\n' "$H" "$id" "${from% *}" "$to" "$bytes"
}

# record HOST: a drill's result (one JSON line on stdin, from ironclad pitr drill), kept in the host's archive
record() {
  load "$1"; mkdir -p "$A"
  head -c 65536 | head -n 1 > "$A/.drill.json.tmp"
  grep -Eq '^\{"passed":(true|false),"at":"[0-9T:Z.-]{20,27}"' "$A/.drill.json.tmp" || { rm -f "$A/.drill.json.tmp"; die "not a drill result"; }
  chmod 440 "$A/.drill.json.tmp" && sync "$A/.drill.json.tmp" && mv "$A/.drill.json.tmp" "$A/drill.json" && sync "$A"
}

# partial HOST SEGMENT: the segment being received, encrypted on the fly (or its archived copy once complete)
partial() {
  load "$1"; seg_ok "$2" || die "bad segment name '$2'"
  if [ -f "$WAL/$2.gz.age" ]; then cat "$WAL/$2.gz.age"; return; fi
  plain "$2.partial" || die "no partial segment $2 of $H (or not a plain file of $PITR_USER's: refused)"
  [ -s "$RECIP" ] || die "no recipients for $H"
  # read as PITR_USER (never root); a failed read is an error, never a short partial
  exec 3>&1
  bad=$({ { as_pitr cat -- "$SP/$2.partial" || echo read >&4; } | { squeeze || echo squeeze >&4; } | { age -R "$RECIP" >&3 || echo age >&4; }; } 4>&1)
  [ -z "$bad" ] || die "cannot encrypt the partial segment $2 of $H ($(printf '%s' "$bad" | tr '\n' ' '))"
}

# wal_range FIRST LAST (after load): the committed segments the index lists from FIRST to LAST (names of one timeline,
# FIRST <= LAST; the names sent are the index's own, never the client's), as one framed stream: per segment a 42-byte
# header `seg NAME SIZE` (SIZE: 12 digits) then SIZE bytes of its file as stored (encrypted); then `end LAST COUNT`.
# A segment whose file is gone ends the stream short (exit 1): the reader sees it as cut, never as a shorter range.
wal_range() {
  { seg_ok "$1" && seg_ok "$2"; } || die "bad segment name '$1' or '$2'"
  [ "$(printf %.8s "$1")" = "$(printf %.8s "$2")" ] || die "refused: $1 and $2 are on different timelines"
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort | head -n 1)" = "$1" ] || die "refused: $1 comes after $2"
  [ -f "$INDEX" ] || die "no WAL index of $H"
  n=0
  # (string comparisons: a name of digits only must not be read as a number)
  names=$(awk -v f="$1" -v l="$2" '($1 "") >= (f "") && ($1 "") <= (l "") { print $1 }' "$INDEX" | sort -u)
  while IFS= read -r s; do
    seg_ok "$s" || continue
    f="$WAL/$s.gz.age"
    [ -f "$f" ] && [ ! -L "$f" ] || die "no wal $s of $H"
    exec 3< "$f" || die "cannot read wal $s of $H"
    size=$(stat -L -c %s /dev/fd/3)
    printf 'seg %s %012d\n' "$s" "$size"
    cat <&3 || die "cannot read wal $s of $H"
    exec 3<&-
    n=$((n + 1))
  done << NAMES
$names
NAMES
  printf 'end %s %012d\n' "$2" "$n"
}

# reader HOSTS VERB ...: a restoring host's read key (run as the store's account): only what it restores, by name
reader() {
  allowed=",$1,"; shift
  [ $# -ge 2 ] || die "refused: pitr-list HOST | pitr-get HOST base ID [OFFSET] | pitr-get HOST wal SEGMENT | pitr-wal HOST FIRST LAST | pitr-partial HOST SEGMENT"
  host_ok "$2" || die "bad host name '$2'"
  case "$allowed" in *",$2,"*) ;; *) die "refused: this key may not read the archive of $2" ;; esac
  load "$2"
  case "$1 $#" in
    'pitr-list 2')
      for b in "$BASE"/*/backup.json; do [ -f "$b" ] && id_ok "$(basename "$(dirname "$b")")" && printf 'base %s\n' "$(head -c 1000 "$b" | tr -d '\n')"; done
      [ ! -f "$INDEX" ] || sed 's/^/wal /' "$INDEX"
      find "$WAL" -maxdepth 1 -type f -name '*.gz.age' -printf 'file %f\n' | sort
      [ ! -f "$A/latest" ] || printf 'partial %s\n' "$(cut -d' ' -f1,2 "$A/latest")" ;;
    'pitr-get 4' | 'pitr-get 5')
      case "$3" in
        base) id_ok "$4" || die "bad base id '$4'"; f="$BASE/$4/base.tar.gz.age"; off=${5:-0} ;;
        wal) { seg_ok "$4" || hist_ok "$4"; } || die "bad segment name '$4'"; f="$WAL/$4.gz.age"; off=0; [ $# -eq 4 ] || die "usage: pitr-get HOST wal SEGMENT" ;;
        *) die "refused: pitr-get HOST base ID [OFFSET] | pitr-get HOST wal SEGMENT" ;;
      esac
      case "$off" in '' | *[!0-9]*) die "bad offset '$off'" ;; esac
      [ -f "$f" ] && [ ! -L "$f" ] || die "no $3 $4 of $2"
      tail -c +"$((off + 1))" "$f" ;;
    'pitr-wal 4') wal_range "$3" "$4" ;;
    'pitr-partial 3') seg_ok "$3" || die "bad segment name '$3'"; if is_root; then partial "$2" "$3"; else exec sudo -n "$0" partial "$2" "$3"; fi ;;
    *) die "refused: unknown verb '$1'" ;;
  esac
}

is_root() { [ "$(id -u)" = 0 ]; }

case "${1:-}" in
  reader)
    arg=${2:-}; shift 2 || die "usage: reader HOST,... VERB ..."
    # shellcheck disable=SC2086  # the words of SSH_ORIGINAL_COMMAND are split, never globbed
    if [ $# -eq 0 ] && [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then set -f; set -- $SSH_ORIGINAL_COMMAND; set +f; fi
    reader "$arg" "$@" ;;
  receive | base | prune | status | health | record | partial)
    is_root || die "$1 is for root on the store"
    verb=$1; shift
    case "$verb" in
      receive) [ $# -eq 1 ] || die "usage: receive HOST"; receive "$1" ;;
      base) [ $# -eq 1 ] || die "usage: base HOST"; base "$1" ;;
      prune) [ $# -ge 3 ] || die "usage: prune HOST BASES DAYS [--dry-run]"; prune "$@" ;;
      status) status "$@" ;;
      health) health "$@" ;;
      record) [ $# -eq 1 ] || die "usage: record HOST < drill.json"; record "$1" ;;
      partial) [ $# -eq 2 ] || die "usage: partial HOST SEGMENT"; partial "$@" ;;
    esac ;;
  *) die "usage: ironclad-pitr receive HOST | base HOST | prune HOST BASES DAYS [--dry-run] | status [HOST] | health [--no-alert] | record HOST | reader HOSTS VERB ..." ;;
esac
