# --- one database ------------------------------------------------------------------------------
# open_session DB: the new backup's folder, and a psql session that opens a REPEATABLE READ transaction and exports its
# snapshot: pg_dump imports it, and the row counts come from the same snapshot, so the manifest describes exactly what
# the dump holds. The first database's session opens while the gate runs; nothing reads from it before the gate passed.
open_session() {
  db=$1
  # the upload's name is only a proposal: the store gives the backup its id and time when it commits it (one date for
  # the name, the start and the nanoseconds that make the name unique with the pid: every process before psql starts
  # delays the dump)
  # shellcheck disable=SC2046  # fixed-format words: digits, letters, T, Z, ':' and '-'
  set -- $(date -u '+%Y%m%dT%H%M%SZ %Y-%m-%dT%H:%M:%SZ %N')
  n_db=$((${n_db:-0} + 1))
  up="$1-$$-$n_db-${3:-}" started=$2
  dir="$WORK/$up" prepared=''
  mkdir -m 711 "$dir"  # root's; postgres may only pass through (a directory-format dump gets a folder of its own)
  fifo="$WORK/.session-$$"
  { [ ! -e "$fifo" ] && [ ! -L "$fifo" ]; } || rm -f "$fifo"  # (one a killed run of the same pid left)
  mkfifo "$fifo"
  # (its exit status also goes to .session.rc, a mark the job can look for while the dump runs)
  { exec 9>&-; rc=0; su postgres -s /bin/sh -c "PGDATABASE=\"\$0\" \"\$1\" -X -A -t -q -v ON_ERROR_STOP=1 -F '	' -p $PORT" "$db" "$PGBIN/psql" < "$fifo" > "$dir/.session.out" 2> "$dir/.session.err" || rc=$?; echo "$rc" > "$dir/.session.rc"; exit "$rc"; } &
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

