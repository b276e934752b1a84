# --- receiving (after store.sh's helpers): each completed segment archived, the receiver and its spool, the slot. ---
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

# receive HOST [--keepalive]: the long-running receiver, one per host (lock_receiver)
receive() {
  load "$1"
  state_dirs
  mkdir -p "$SP" "$WAL" "$BASE"
  [ -s "$A/since" ] || date -u +%Y-%m-%dT%H:%M:%SZ > "$A/since"  # when archiving began, by the store's clock (drills are due from it)
  lock_receiver "${2:-}"
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
    [ "$ok" = 0 ] || [ "$(df -Pk "$SP" | awk 'NR == 2 { printf "%.0f\n", $4 * 1024 }')" -ge $((3 * $(cat "$A/segsize" 2> /dev/null || echo 16777216))) ] || { ok=0; stop_reason "the spool $SP is full (segments wait for the archive)"; }
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

# lock_receiver [--keepalive]: fd 9's lock, held as long as the receiver runs: never two at once. Others hold it for a
# moment (status and health ask whether a receiver runs, apply waits for an ending one to let go) and a receiver that
# was stopped holds it until it has stopped pg_receivewal: a start waits up to LOCK_WAIT s for it, and says so. When
# it stays held, the start exits saying why; only cron's start each minute (--keepalive) exits quietly, and at once,
# when the receiver of the pid file holds it, as it should
lock_receiver() {
  exec 9> "$SPOOL/$H.lock"
  flock -n 9 && return 0
  if [ "$1" = --keepalive ] && receiver_pid "$(cat "$SPOOL/$H.pid" 2> /dev/null)"; then exit 0; fi
  t0=$(date +%s)
  if flock -w "$LOCK_WAIT" 9; then
    say "$H: the receiver's lock was held when this receiver started (a status read, or a receiver stopping): taken after $(($(date +%s) - t0)) s"
    return 0
  fi
  p=$(cat "$SPOOL/$H.pid" 2> /dev/null)
  receiver_pid "$p" && { say "$H: a receiver runs already (pid $p, its lock held $LOCK_WAIT s): this start exits"; exit 0; }
  die "$H: the receiver's lock $SPOOL/$H.lock is held $LOCK_WAIT s by a process that is not the receiver of $SPOOL/$H.pid: not receiving"
}
# receiver_pid PID: PID runs this host's receiver (its command line ends in `receive HOST`, with or without --keepalive)
receiver_pid() {
  case "$1" in '' | *[!0-9]*) return 1 ;; esac
  case "$(tr '\0' ' ' < "/proc/$1/cmdline" 2> /dev/null)" in *" receive $H " | *" receive $H --keepalive ") return 0 ;; *) return 1 ;; esac
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
# tmpfs mounted for it). A spool root made (a receiver from before it ran as a user) or SHARED_USER's (before each host
# had its own) is handed over: it is made root's, 0700, first (no process of the old owner's can write in it from
# then on), root's own files move out of it, then it is chowned
own_spool() {
  if [ -n "$TMPFS_SIZE" ] && ! mountpoint -q "$SP"; then
    chown root:root "$SP" && chmod 700 "$SP" || die "cannot take $SP"
    [ -z "$(ls -A "$SP")" ] || rm -rf "${SP:?}"/* "$SP"/.[!.]*
    mount -t tmpfs -o "size=$TMPFS_SIZE,mode=700,uid=$(id -u "$PITR_USER"),gid=$(id -g "$PITR_USER"),nosuid,nodev,noexec" "ironclad-pitr-$H" "$SP" || die "cannot mount the spool $SP"
  fi
  was=$(stat -c %U "$SP")
  [ "$was" != "$PITR_USER" ] || return 0
  [ "$was" = root ] || [ "$was" = "$SHARED_USER" ] || die "the spool $SP is $was's, neither root's, $SHARED_USER's nor $PITR_USER's: refused"
  chown root:root "$SP" && chmod 700 "$SP"
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
