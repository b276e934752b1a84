# --- body: the backup job (POSIX sh). The variables above are rendered from the inventory by `ironclad apply`. ---
# Exit codes: 0 backed up; 1 failed (dump, transfer, store); 3 refused (gate, empty, too few tables, shrunk, a dump that
# hit corrupted data).
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
# (the server's messages in English whatever its lc_messages: the job reads them for signs of corruption)
export PATH LC_ALL=C PGOPTIONS='-c lc_messages=C'
# the cluster's own psql and pg_dump, not Debian's pg_wrapper in /usr/bin (a Perl script: ~25 ms a start, and the
# session's psql and then pg_dump wait for it one after the other before the dump begins); the wrapper when not there
PGBIN=/usr/lib/postgresql/$PGVERSION/bin
[ -x "$PGBIN/psql" ] && [ -x "$PGBIN/pg_dump" ] || PGBIN=/usr/bin

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
log() { printf '%s ironclad-backup[%s]: %s\n' "$(now)" "$HOST" "$*" >&2; }
safe_str() { # a JSON string of the manifest's safe characters only (the store accepts no escapes), at most 100
  printf '"%s"' "$(printf '%s' "$1" | tr -cd 'A-Za-z0-9 ._:+()~/-' | cut -c 1-100)"
}
json_str() { # a JSON string; sed and tr only when there is something to escape or drop
  case $1 in
    *[\\\"]* | *"
"*) printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n')" ;;
    *) printf '"%s"' "$1" ;;
  esac
}

# status + alert on every failure; never hides the original exit code
finish() {
  FINISHED=1
  code=$1; shift
  msg="$*"
  # a failure while the gate still ran is judged by the gate first: a refused instance is the real cause (gate_ok
  # ends the run itself when the gate refused)
  if [ "$code" -ne 0 ] && [ -n "${gating:-}" ]; then gate_ok; fi
  if [ -n "${asking:-}" ]; then wait "$asking" 2>/dev/null || true; fi
  # nothing this run started outlives it: the dump's pipeline, the upload, the counting session, the connection
  # (and what each started: the upload's ssh is a child of its subshell)
  for p in ${background:-}; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  exec 4>&-
  if [ -n "${opening:-}" ]; then wait "$opening" 2>/dev/null || true; fi
  close_store
  [ -d "${STATUS%/*}" ] || mkdir -p "${STATUS%/*}"
  state=ok; [ "$code" -eq 0 ] || state=failed; [ "$code" -eq 3 ] && state=refused
  printf '{"host":%s,"state":"%s","exit":%s,"message":%s,"time":"%s","backups":%s%s}\n' \
    "$(json_str "$HOST")" "$state" "$code" "$(json_str "$msg")" "$(now)" "$(json_str "${DONE_IDS:-}")" "${STATUS_EXTRA:-}" > "$STATUS.tmp" && mv "$STATUS.tmp" "$STATUS"
  if [ "$code" -ne 0 ]; then
    log "FAILED ($state): $msg"
    if [ -n "$ALERT" ]; then
      sh -c "$ALERT \"\$1\"" ironclad-alert "ironclad backup of $HOST $state: $msg" || log "alert command failed: $ALERT"
    fi
  else
    log "$msg"
  fi
  exit "$code"
}

# gate_ok: the verdict of the single-instance gate, which runs beside the start of the first dump. Returns when it
# passed; otherwise what this run started stops, its upload leaves the store's incoming area, and the run ends refused (3,
# problems found) or failed (1, the census could not run). Nothing is judged, committed or resumed before it passed.
gate_ok() {
  [ -n "${gating:-}" ] || return 0
  gate_rc=0; wait "$gating" || gate_rc=$?
  gating=''
  [ "$gate_rc" -ne 0 ] || return 0
  for p in ${background:-}; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  background=''
  if [ -n "${uploading:-}" ]; then wait "$uploading" 2>/dev/null || true; uploading=''; store discard "$up" > /dev/null 2>&1 || true; fi
  cat "$WORK/.gate.out" >&2
  [ "$gate_rc" -eq 3 ] || gate_rc=1
  finish "$gate_rc" "the single-instance check failed, refusing to back up: $(grep '^  - ' "$WORK/.gate.out" | sed 's/^  - //' | tr '\n' ';')"
}

# --- one database ------------------------------------------------------------------------------
# open_session DB: the new backup's folder, and a psql session that opens a REPEATABLE READ transaction and exports its
# snapshot: pg_dump imports it, and the row counts come from the same snapshot, so the manifest describes exactly what
# the dump holds. The first database's session opens while the gate runs; nothing reads from it before the gate passed.
open_session() {
  db=$1
  # the upload's name is only a proposal: the store gives the backup its id and time when it commits it (one date for
  # the name and the start, one od: every process before psql starts delays the dump)
  # shellcheck disable=SC2046  # fixed-format words: digits, letters, T, Z, ':' and '-'
  set -- $(date -u '+%Y%m%dT%H%M%SZ %Y-%m-%dT%H:%M:%SZ') $(od -An -N4 -tx4 /dev/urandom)
  n_db=$((${n_db:-0} + 1))
  up="$1-$$-$n_db-${3:-}" started=$2
  dir="$WORK/$up" prepared=''
  mkdir -m 711 "$dir"  # root's; postgres may only pass through (a directory-format dump gets a folder of its own)
  fifo="$WORK/.session-$$"
  { [ ! -e "$fifo" ] && [ ! -L "$fifo" ]; } || rm -f "$fifo"  # (one a killed run of the same pid left)
  mkfifo "$fifo"
  # (its exit status also goes to .session.rc, a mark the job can look for while the dump runs)
  { exec 9>&-; rc=0; su postgres -s /bin/sh -c "\"\$1\" -X -A -t -q -v ON_ERROR_STOP=1 -F '	' -p $PORT -d \"\$0\"" "$db" "$PGBIN/psql" < "$fifo" > "$dir/.session.out" 2> "$dir/.session.err" || rc=$?; echo "$rc" > "$dir/.session.rc"; exit "$rc"; } &
  session=$!
  exec 4> "$fifo"
  # writes to the session never kill the job (SIGPIPE) when psql has died: its exit status tells, below
  # (as superuser, so nothing of the application's is ever found by name: its role owns schema public)
  (trap '' PIPE; printf '%s\n' 'SET search_path = pg_catalog, pg_temp;' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;' 'SELECT pg_export_snapshot();' >&4) 2>/dev/null || true
  [ "$FORMAT" = directory ] || mkfifo "$dir/.sum"  # the dump's checksum reads it (made while psql connects)
}

counted() { # while the dump runs: true once the session printed every row count; false when it ended without them or
  # the dump ended first (then they are read after it)
  while ! grep -q '^@@counted$' "$dir/.session.out" 2> /dev/null; do
    [ ! -e "$dir/.session.rc" ] && [ ! -e "$dir/.age.rc" ] || return 1
    sleep 0.05
  done
}

prepare() { # the row counts and the server's identity read from the session, the counts encrypted and summed (once,
  # while the dump runs when they are ready by then); false when they are missing. Judged only after the dump.
  [ -z "$prepared" ] || return 0
  # one line: @@counts, tables, rows, every table's count as JSON (exact names, escaped by PostgreSQL itself), the rows as
  # counted before each was counted once, and each table's ancestors (counts.sql)
  grep '^@@counts	' "$dir/.session.out" > "$dir/.counts" || return 1
  tables=$(cut -f 2 "$dir/.counts") rows=$(cut -f 3 "$dir/.counts")
  sysid=$(awk -F '\t' '$1 == "@@server" { print $2; exit }' "$dir/.session.out")
  version=$(awk -F '\t' '$1 == "@@server" { print $3; exit }' "$dir/.session.out")
  # the table names and counts travel encrypted; the manifest the store reads says no name, only numbers
  # (each row counted once: "counting":"leaf"; parents_rows: the total as counted before, for the shrink rule)
  parents_rows=$(cut -f 5 "$dir/.counts")
  # the manifest's words about the server, made ready here (while the dump runs when the counts came first)
  cluster_json=$(safe_str "$PGVERSION/$CLUSTER") version_json=$(safe_str "$version") sysid=$(printf '%s' "$sysid" | tr -cd 0-9)
  printf '{"tables":%s,"rows":%s,"counting":"leaf","row_counts":%s}\n' "$tables" "$rows" "$(cut -f 4 "$dir/.counts")" | age -R "$RECIPIENTS" > "$dir/counts.json.age" ||
    finish 1 "$db: encrypting the row counts failed"
  (cd "$dir" && sums counts.json.age) > "$dir/.countsum" || finish 1 "$db: checksums failed"
  prepared=1
}

backup_db() { # backup_db DB, its session opened
  # the store's last good backup (for the shrink rule), asked while the dump runs; judged after the refusals below
  ( exec 4>&- 9>&-; connected && store last "$db" ) > "$dir/.last" 2> "$dir/.last.err" &
  asking=$!
  i=0; snap=''
  while [ $i -lt 3000 ]; do
    snap=''; IFS= read -r snap < "$dir/.session.out" 2>/dev/null || snap=''  # (a whole line only; read is built in: no process a poll)
    [ -n "$snap" ] && break
    if [ -e "$dir/.session.rc" ] || ! kill -0 "$session" 2>/dev/null; then break; fi
    i=$((i + 1)); sleep 0.01
  done
  if [ -z "$snap" ]; then exec 4>&-; wait "$session" || true; failed "$db: cannot open a snapshot: $(tail -n 3 "$dir/.session.err")"; fi
  # row counts of every user table and the server's identity, inside the exported snapshot's transaction. Sent now,
  # they run while pg_dump (below) dumps the same snapshot; the transaction stays open (no COMMIT yet) until pg_dump is
  # done, so the snapshot it imports is valid all along. One process and no JIT for them: as little CPU as possible
  # taken from pg_dump beside them (counting is much cheaper than dumping, so they end long before it).
  (trap '' PIPE; cat >&4) 2>/dev/null <<'SQL' || true
\pset tuples_only on
\o
SET LOCAL max_parallel_workers_per_gather = 0;
SET LOCAL jit = off;
SELECT '@@server', system_identifier, current_setting('server_version') FROM pg_control_system();
@@COUNT_SQL@@
SELECT '@@counted';
SQL
  : > "$WORK/.send.err"
  uploading=''
  if [ "$FORMAT" = directory ]; then
    # pg_dump writes into a folder of postgres's own; root reads it back only as postgres (tar), encrypted as it is read
    target="$dir/dump.tar.age"
    mkdir -m 700 "$dir/plain" && chown postgres "$dir/plain"
    if ! su postgres -s /bin/sh -c "\"\$3\" -p $PORT --snapshot=\"\$1\" -F directory -f \"\$2\" \"\$0\"" "$db" "$snap" "$dir/plain/dump" "$PGBIN/pg_dump" 2> "$dir/.dump.err"; then
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
    sums < "$dir/.sum" > "$dir/.dumpsum" 4>&- 9>&- &
    summing=$!
    # (background work closes the session's and the lock's descriptors with exec: a redirection of a { } group
    # would keep a copy open in its shell, and psql would never see the end of its input)
    # encrypted as it is dumped (age, to the recipients apply rendered): no plaintext byte is written or sent
    { exec 4>&- 9>&-; su postgres -s /bin/sh -c "\"\$2\" -p $PORT --snapshot=\"\$1\" -F custom \"\$0\"" "$db" "$snap" "$PGBIN/pg_dump" 2> "$dir/.dump.err"; echo $? > "$dir/.dump.rc"; } |
      { exec 4>&- 9>&-; age -R "$RECIPIENTS" 2> "$dir/.age.err"; echo $? > "$dir/.age.rc"; } |
      tee -p "$dir/.sum" > "$target" 2> "$dir/.tee.err" 4>&- 9>&- &
    dumping=$!
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
    newest=$(su postgres -s /bin/sh -c "\"\$3\" -X -A -t -q -v ON_ERROR_STOP=1 -p $PORT -d \"\$0\" -v t=\"\$1\" -v c=\"\$2\"" "$db" "$EVENTS_TABLE" "$EVENTS_COLUMN" "$PGBIN/psql" 2> /dev/null <<'SQL' || true
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
