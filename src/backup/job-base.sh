# --- body: the backup job (POSIX sh), its first part: settings, helpers, the status and alert (finish), the gate's verdict.
# The variables above are rendered from the inventory by `ironclad apply`; the rest of the job follows (render.ts). ---
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

