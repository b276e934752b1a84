# --- body: the backup job's dump of one database (POSIX sh), part of the job, rendered before job.sh (which calls it):
# the snapshot, pg_dump encrypted and summed as it is written and uploaded as it grows, the row counts in the same
# snapshot beside it; ends with the dump checked and the counts read, before anything is judged. ---
send_counts() { # row counts of every user table and the server's identity, inside the exported snapshot's transaction:
  # they run while pg_dump dumps the same snapshot; the transaction stays open (no COMMIT yet) until pg_dump is done, so
  # the snapshot it imports is valid all along. One process and no JIT for them, and that process (the session's server
  # process, postgres's own) at a lower priority than pg_dump and its server process: it counts on CPU time the dump
  # leaves, and ends long before it (counting is much cheaper than dumping); renice failing changes nothing but that.
  (trap '' PIPE; cat >&4) 2>/dev/null <<'SQL' || true
\pset tuples_only on
\o
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL jit = off;
SELECT pg_backend_pid() AS ironclad_pid \gset
\setenv IRONCLAD_PID :ironclad_pid
\! renice -n 10 -p "$IRONCLAD_PID" > /dev/null 2>&1 || true
SELECT '@@server', system_identifier, current_setting('server_version') FROM pg_control_system();
@@COUNT_SQL@@
SELECT '@@counted';
SQL
}

ask_last() { # the store's last good backup (for the shrink rule), asked while the dump runs; judged after the refusals
  ( exec 4>&- 9>&-; connected && store last "$db" ) > "$dir/.last" 2> "$dir/.last.err" &
  asking=$!
}

dump_db() { # dump_db DB, its session opened (open_session)
  i=0; snap=''
  while [ $i -lt 3000 ]; do
    snap=''; IFS= read -r snap < "$dir/.session.out" 2>/dev/null || snap=''  # (a whole line only; read is built in: no process a poll)
    [ -n "$snap" ] && break
    if [ -e "$dir/.session.rc" ] || ! kill -0 "$session" 2>/dev/null; then break; fi
    i=$((i + 1)); sleep 0.01
  done
  if [ -z "$snap" ]; then exec 4>&-; wait "$session" || true; failed "$db: cannot open a snapshot: $(tail -n 3 "$dir/.session.err")"; fi
  : > "$WORK/.send.err"
  uploading=''
  if [ "$FORMAT" = directory ]; then
    # pg_dump writes into a folder of postgres's own; root reads it back only as postgres (tar), encrypted as it is read
    target="$dir/dump.tar.age"
    send_counts
    ask_last
    mkdir -m 700 "$dir/plain" && chown postgres "$dir/plain"
    if ! su postgres -s /bin/sh -c "PGDATABASE=\"\$0\" \"\$3\" -p $PORT --snapshot=\"\$1\" -F directory -Z $COMPRESSION -f \"\$2\"" "$db" "$snap" "$dir/plain/dump" "$PGBIN/pg_dump" 2> "$dir/.dump.err"; then
      exec 4>&-; wait "$session" || true
      failed "$db: pg_dump failed: $(tail -n 3 "$dir/.dump.err")"
    fi
    gate_ok
    # shellcheck disable=SC2016  # $0 is expanded by the shell su starts
    su postgres -s /bin/sh -c 'tar -C "$0" -cf - .' "$dir/plain/dump" 2> "$dir/.dump.err" | age -R "$RECIPIENTS" > "$target" 2>> "$dir/.dump.err" ||
      finish 1 "$db: encrypting the dump failed: $(tail -n 3 "$dir/.dump.err")"
    rm -rf "$dir/plain"
    (cd "$dir" && sums dump.tar.age) > "$dir/.files" || finish 1 "$db: checksums failed"
  else
    # custom format, written to a pipe as `pg_dump | ssh` writes it (no data offsets in its table of contents:
    # pg_restore finds the data by reading on, also with parallel jobs). Its bytes go to the local file and to
    # its checksum at once, and the upload follows the file as it grows (tail -f): the dump never waits for the
    # network, so the snapshot is held no longer than the dump, however slow the link, and the local file is there to
    # resume from when the upload stops. The upload stays in the store's partial area until the commit checks it.
    target="$dir/dump.pgdump.age"
    : > "$target"
    # pg_dump starts first, as soon as the snapshot is there; what runs beside it starts after it (the counts, the
    # checksum's reader of the fifo tee opens, the question to the store, the upload): none of it delays the dump.
    # (background work closes the session's and the lock's descriptors with exec: a redirection of a { } group
    # would keep a copy open in its shell, and psql would never see the end of its input)
    # encrypted as it is dumped (age, to the recipients apply rendered): no plaintext byte is written or sent.
    # Compressed by pg_dump with zlib at COMPRESSION (the inventory's backup.compression, 1 unless it says otherwise):
    # pg_dump's own process is the dump's slowest part, and zlib at its default (6) takes it ~2.65 CPU-s for the bench's
    # 1 GB, at 1 ~1.6 CPU-s, for a file 1.6% larger there (bench/backup/README.md). The stored format is unchanged.
    { exec 4>&- 9>&-; su postgres -s /bin/sh -c "PGDATABASE=\"\$0\" \"\$2\" -p $PORT --snapshot=\"\$1\" -F custom -Z $COMPRESSION" "$db" "$snap" "$PGBIN/pg_dump" 2> "$dir/.dump.err"; echo $? > "$dir/.dump.rc"; } |
      { exec 4>&- 9>&-; age -R "$RECIPIENTS" 2> "$dir/.age.err"; echo $? > "$dir/.age.rc"; } |
      tee -p "$dir/.sum" > "$target" 2> "$dir/.tee.err" 4>&- 9>&- &
    dumping=$!
    background=$dumping
    send_counts
    sums < "$dir/.sum" > "$dir/.dumpsum" 4>&- 9>&- &
    summing=$!
    background="$dumping $summing"
    ask_last
    { exec 4>&- 9>&-; connected 2> /dev/null && tail -c +1 -f -s 0.02 --pid="$dumping" "$target" 2> /dev/null; } |
      { exec 4>&- 9>&-; connected 2>> "$WORK/.send.err" && store put "$up" dump.pgdump.age - 2>> "$WORK/.send.err"; } &
    uploading=$!
    background="$dumping $summing $uploading"
    # while the dump runs: the gate's verdict, then the row counts (they end long before the dump), made ready to ship
    gate_ok
    counted && prepare
    tee_rc=0; wait "$dumping" || tee_rc=$?
    sum_rc=0; wait "$summing" || sum_rc=$?
    background=$uploading
    # (the marks read by the shell itself: no process for them once the dump ended)
    dump_rc='' age_rc='' sum=''
    { read -r dump_rc < "$dir/.dump.rc"; } 2> /dev/null || true
    { read -r age_rc < "$dir/.age.rc"; } 2> /dev/null || true
    if [ "$dump_rc" != 0 ]; then
      exec 4>&-; wait "$session" || true
      discard; failed "$db: pg_dump failed: $(tail -n 3 "$dir/.dump.err")"
    fi
    [ "$age_rc" = 0 ] || { discard; finish 1 "$db: encrypting the dump failed: $(tail -n 2 "$dir/.age.err")"; }
    [ "$tee_rc" -eq 0 ] || { discard; finish 1 "$db: writing $target failed: $(tail -n 2 "$dir/.tee.err")"; }
    { read -r sum _ < "$dir/.dumpsum"; } 2> /dev/null || true
    case "$sum_rc:$sum" in 0:????????????????????????????????????????????????????????????????) ;; *) discard; finish 1 "$db: the dump's checksum failed" ;; esac
    printf '%s  dump.pgdump.age\n' "$sum" > "$dir/.files"
  fi
  (trap '' PIPE; printf '%s\n' "SELECT '@@end';" 'COMMIT;' >&4) 2>/dev/null || true
  exec 4>&-
  if ! wait "$session"; then discard; failed "$db: counting rows failed: $(tail -n 3 "$dir/.session.err")"; fi
  rm -f "$fifo"
  grep -q '^@@end$' "$dir/.session.out" || { discard; failed "$db: row counts incomplete: $(tail -n 3 "$dir/.session.err")"; }
  prepare || { discard; finish 1 "$db: row counts missing"; }
  finished=$(now)
}
