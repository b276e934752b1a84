# --- body: the backup job's judgement and shipping of one database, and its main (POSIX sh), rendered last: after
# job-base.sh (helpers, finish, the gate's verdict), job-session.sh (the snapshot's session) and job-dump.sh. ---
backup_db() { # backup_db DB, its session opened
  dump_db "$1"

  # --- the refusals: an empty or wrong backup is not a backup ---
  if [ "$tables" -lt "$MIN_TABLES" ]; then
    discard; finish 3 "$db: the dump has $tables tables, fewer than expect.min_tables=$MIN_TABLES: refusing it (is this the right instance?)"
  fi
  if [ "$rows" -eq 0 ]; then
    discard; finish 3 "$db: the dump has $tables tables but no rows at all: refusing an empty backup"
  fi
  rc=0; wait "$asking" || rc=$?
  asking=''
  [ "$rc" -eq 0 ] || { discard; finish 1 "$db: cannot ask the store for the last good backup: $(tail -n 2 "$dir/.last.err")"; }
  last=$(cat "$dir/.last")
  last_rows=$(printf '%s\n' "$last" | sed -n 's/.*"rows":\([0-9][0-9]*\).*/\1/p' | head -n 1)
  # the last backup's rows were counted once each only when this host's record says so (.leaf.DB: the id of its last
  # backup counted that way); else they were counted as before (a partition's rows again in its parent): compared
  # with this snapshot's rows counted that same way
  last_id=$(printf '%s\n' "$last" | sed -n 's/^{"id":"\([^"]*\)".*/\1/p')
  now_rows=$rows
  [ -n "$last_id" ] && [ "$last_id" = "$(cat "$WORK/.leaf.$db" 2> /dev/null)" ] || now_rows=${parents_rows:-$rows}
  if [ -n "$last_rows" ] && [ "$last_rows" -gt 0 ]; then
    if awk -v now="$now_rows" -v last="$last_rows" -v max="$MAX_SHRINK" 'BEGIN { exit !(now < last * (1 - max)) }'; then
      discard; finish 3 "$db: rows fell from $last_rows to $now_rows since the last good backup, more than expect.max_shrink=$MAX_SHRINK: refusing it (truncated tables? wrong instance?)"
    fi
  fi

  # --- manifest and checksums ---
  newest=''
  if [ -n "$EVENTS_TABLE" ]; then
    # read as the database's owner, never as superuser: the table (or a view in its place) is the application's
    newest=$(su postgres -s /bin/sh -c "PGDATABASE=\"\$0\" \"\$3\" -X -A -t -q -v ON_ERROR_STOP=1 -p $PORT -v t=\"\$1\" -v c=\"\$2\"" "$db" "$EVENTS_TABLE" "$EVENTS_COLUMN" "$PGBIN/psql" 2> /dev/null <<'SQL' || true
SET search_path = pg_catalog, pg_temp;
SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = current_database() \gset
SET ROLE :"owner";
SELECT max(:"c") FROM public.:"t";
SQL
)
  fi
  cat "$dir/.countsum" >> "$dir/.files"
  bytes=$(stat -c %s "$target")
  {
    printf '{"format":2,"host":"%s","database":"%s","cluster":%s,"system_identifier":"%s","server_version":%s,"dump_format":"%s","encrypted":true,' \
      "$HOST" "$db" "$cluster_json" "$sysid" "$version_json" "$FORMAT"
    printf '"started_at":"%s","finished_at":"%s","tables":%s,"rows":%s,"bytes":%s,"newest_event":%s,"files":{' \
      "$started" "$finished" "$tables" "$rows" "$bytes" "$( [ -n "$newest" ] && safe_str "$newest" || printf null)"
    awk 'BEGIN { sep = "" } { printf "%s\"%s\":\"%s\"", sep, $2, $1; sep = "," }' "$dir/.files"
    printf '}}\n'
  } > "$dir/manifest.json"
  # every file's sum, sorted by name: the dump files' (each read once, above; dump* sorts
  # before manifest.json), then the manifest's
  { cat "$dir/.files" && (cd "$dir" && sums manifest.json); } > "$dir/SHA256SUMS.tmp" || finish 1 "$db: checksums failed"
  rm -f "$dir"/.session.* "$dir"/.dump.* "$dir"/.age.* "$dir"/.sum "$dir"/.dumpsum "$dir"/.tee.err "$dir"/.last "$dir"/.last.err "$dir"/.counts "$dir"/.countsum "$dir"/.files
  # only now is the folder a complete backup that a later run may resume shipping (it looks for SHA256SUMS)
  mv "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS" || finish 1 "$db: cannot write SHA256SUMS"

  # --- ship: resumable, into the store's incoming area; committed (verified, renamed) only when complete ---
  committed=''
  if [ -n "$uploading" ]; then  # custom format: the dump went up as it was written; the three small files go with the commit
    ccode=1
    if wait "$uploading" && [ -S "$CTL" ]; then
      ccode=0; id=$(commit "$dir" "$up" "$db" counts.json.age manifest.json SHA256SUMS) || ccode=$?
      [ "$ccode" -ne 1 ] || log "$db: the commit of $up with its last files failed ($(tail -n 1 "$WORK/.commit.err")); resuming the upload with rsync"
    fi
    uploading=''; background=''
    [ "$ccode" -ne 3 ] || finish 1 "$db: the store did not commit $up: $(tail -n 3 "$WORK/.commit.err")"
    [ "$ccode" -ne 0 ] || committed=1
  fi
  if [ -z "$committed" ]; then  # a directory-format dump, or an upload or commit that stopped: rsync, resuming from what arrived
    [ ! -s "$WORK/.send.err" ] || log "$db: the upload of $up stopped ($(tail -n 1 "$WORK/.send.err")); resuming it with rsync"
    ship "$dir" "$up" || finish 1 "$db: shipping $up to $STORE_ADDR failed (it resumes on the next run): $(said_store) $(tail -n 2 "$WORK/.rsync.err")"
    id=$(commit "$dir" "$up" "$db") || finish 1 "$db: the store did not commit $up: $(tail -n 3 "$WORK/.commit.err")"
  fi
  DONE_IDS="${DONE_IDS:+$DONE_IDS }$id"
  good "$db" "$id"
  printf '%s\n' "$id" > "$WORK/.leaf.$db"  # (its rows counted once each: see the shrink rule)
  log "$db: backed up as $id ($tables tables, $rows rows, $bytes bytes)"
}


# --- main ---------------------------------------------------------------------------------------
# whatever stops the job, the status file and the alert say so (finish sets FINISHED; a signal or an
# unexpected error ends here)
FINISHED=''
trap 'rc=$?; [ -n "$FINISHED" ] || finish 1 "the job stopped unexpectedly (exit $rc)"' EXIT
trap 'finish 1 "interrupted by a signal"' HUP INT TERM
cd /
mkdir -p "$WORK"
chown root: "$WORK" && chmod 711 "$WORK"  # root's: postgres only passes through to a directory-format dump's own folder
exec 9> "$WORK/.lock"
flock -n 9 || { CTL=''; finish 1 "another backup of $HOST is still running"; }
[ -s "$RECIPIENTS" ] || { CTL=''; finish 1 "no age recipients in $RECIPIENTS (backups are encrypted to the hosts that restore them): run ironclad apply"; }
close_store  # a connection a killed run left behind
asking='' background='' uploading='' gating=''
# the connection to the store opens, and the first database's dump starts, while the single-instance gate runs: the
# gate's verdict is awaited (gate_ok) before anything is judged, resumed or committed, so a refusal still refuses (the
# dump is stopped and its upload discarded) and a failure while it ran is reported as its refusal when it refused
rm -f "$WORK/.store.opened"
{ open_store || true; : > "$WORK/.store.opened"; } &  # (set -e: a failed opening must still leave the mark)
opening=$!
# (never dump whatever instance happens to answer on the port: see gate_ok)
( exec 9>&-; set +e; ironclad_gate ) > "$WORK/.gate.out" 2>&1 &
gating=$!
set -f
# shellcheck disable=SC2086  # the list of databases is split on spaces, never globbed
set -- $DATABASES
set +f
open_session "$1"
# a transfer interrupted earlier is resumed first (once the gate passed): its dump is already checked and checksummed
for old in "$WORK"/*; do
  [ "$old" != "$dir" ] || continue  # this run's first backup
  [ -f "$old/SHA256SUMS" ] || { [ -d "$old" ] && rm -rf "$old"; continue; }
  gate_ok
  oup=$(basename "$old"); odb=$(sed -n 's/^{"format":2,"host":"[^"]*","database":"\([^"]*\)".*/\1/p' "$old/manifest.json")
  [ -n "$odb" ] || { log "dropping $oup: made by an older ironclad (unencrypted), never sent"; rm -rf "$old"; continue; }
  log "resuming the transfer of $oup"
  connected 2> /dev/null || true  # without it, rsync connects on its own
  ship "$old" "$oup" || finish 1 "resuming $oup failed: $(tail -n 2 "$WORK/.rsync.err")"
  oid=$(commit "$old" "$oup" "$odb") || finish 1 "the store did not commit $oup: $(tail -n 3 "$WORK/.commit.err")"
  DONE_IDS="${DONE_IDS:+$DONE_IDS }$oid"
done
backup_db "$1"
shift
for db in "$@"; do open_session "$db"; backup_db "$db"; done
finish 0 "backed up: $DONE_IDS"
