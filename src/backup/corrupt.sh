# --- body: corruption in a dump (POSIX sh), part of the backup job (src/backup/job.sh, rendered after it is defined) ---
# A dump (or the row counts beside it) that hit damaged data is refused (exit 3), never reported as a failure of the
# moment: the relation and block named, and the last backup committed before the corruption was first seen.
# The server's own words are read (in English: the job sets PGOPTIONS lc_messages=C).
CORRUPT_RE='invalid page in block [0-9]+ of relation |could not read block [0-9]+ in file |page verification failed|missing chunk number [0-9]+ for toast value|unexpected chunk (number|size) [0-9]+|could not access status of transaction [0-9]+|found (xmin|xmax) [0-9]+ from before relfrozenxid|compressed (pglz )?data is corrupt|invalid memory alloc request size'

failed() { # failed MESSAGE: the run fails (1), unless the session or the dump hit corrupted data: then it is refused (3)
  corrupted || finish 1 "$*"
}

corrupted() { # false when neither the session nor pg_dump said anything of corruption; otherwise refuses the backup (3),
  # naming the relation and block where the server named them, and the last backup committed before it was first seen
  # (either file may not exist: pg_dump never started when the snapshot could not be opened)
  said=$(cat "$dir/.session.err" "$dir/.dump.err" 2> /dev/null | grep -E "$CORRUPT_RE") || return 1
  # the line that names a relation, else the first (a checksum warning comes before the error that names the page)
  line=$(printf '%s\n' "$said" | grep -E -m 1 'invalid page in block|could not read block|chunk .* in pg_toast_[0-9]+' || printf '%s\n' "$said" | head -n 1)
  line=$(printf '%s' "$line" | sed 's/^.*\(ERROR\|WARNING\|FATAL\|PANIC\): *//' | tr -d '\r' | tr '\000-\037\177' '?' | cut -c 1-300)
  block=$(printf '%s' "$line" | sed -n 's/.*\(invalid page in\|could not read\) block \([0-9]*\).*/\2/p')
  path=$(printf '%s' "$line" | sed -n 's/.*invalid page in block [0-9]* of relation \([^ ]*\).*/\1/p; s/.*could not read block [0-9]* in file "\([^"]*\)".*/\1/p')
  toast=$(printf '%s' "$line" | sed -n 's/.* in \(pg_toast_[0-9][0-9]*\).*/\1/p')
  ts=0 node=0
  case $path in
    base/*/*) node=${path##*/} ;;
    global/*) ts=1664 node=${path##*/} ;;
    pg_tblspc/*/*) ts=${path#pg_tblspc/}; ts=${ts%%/*}; node=${path##*/} ;;
  esac
  case $node in t[0-9]*_*) node=${node#*_} ;; esac  # a temporary relation
  node=${node%%[._]*}  # its segment (.1) or fork (_fsm, _vm, _init)
  case "$ts:$node" in *[!0-9:]* | :* | *:) ts=0 node=0 ;; esac
  # which table (or index) that is: asked by numbers only, the name quoted by PostgreSQL itself (format %I)
  relation=$(su postgres -s /bin/sh -c "PGDATABASE=\"\$0\" \"\$4\" -X -A -t -q -v ON_ERROR_STOP=1 -p $PORT -v ts=\"\$1\" -v node=\"\$2\" -v toast=\"\$3\"" "$db" "$ts" "$node" "$toast" "$PGBIN/psql" 2> /dev/null <<'SQL' | head -n 1 | tr -d '\n' | tr '\000-\037\177' '?' | cut -c 1-300 || true
SET search_path = pg_catalog, pg_temp;
WITH r AS (SELECT pg_filenode_relation(CASE WHEN :'ts'::oid IN (0, (SELECT dattablespace FROM pg_database WHERE datname = current_database())) THEN 0 ELSE :'ts'::oid END, :'node'::oid) AS oid
           UNION ALL SELECT oid FROM pg_class WHERE relnamespace = 'pg_toast'::regnamespace AND relname = :'toast')
SELECT format('%I.%I', n.nspname, c.relname) FROM r JOIN pg_class c ON c.oid = r.oid OR c.reltoastrelid = r.oid JOIN pg_namespace n ON n.oid = c.relnamespace
 ORDER BY c.relnamespace = 'pg_toast'::regnamespace LIMIT 1;
SQL
)
  # the last backup committed before it was first seen: the store's word (asked while the dump ran), else this host's
  # own record of its last good backup; kept from the first run that saw it until a backup succeeds again
  if [ -n "${asking:-}" ]; then wait "$asking" 2> /dev/null || true; asking=''; fi
  mark="$WORK/.corrupt.$db"
  if [ ! -s "$mark" ]; then
    before=$(sed -n 's/^{"id":"\([A-Za-z0-9._$-]*\)".*"received_at":"\([0-9TZ:-]*\)".*/\1 \2/p' "$dir/.last" 2> /dev/null | head -n 1)
    [ -n "$before" ] || before=$(cat "$WORK/.good.$db" 2> /dev/null) || before=''
    printf '%s %s\n' "$(now)" "${before:-none}" > "$mark.tmp" && mv "$mark.tmp" "$mark"
  fi
  read -r first_seen before_id before_at < "$mark" || true
  what="${relation:-${path:-an unnamed relation}}${block:+, block $block}"
  if [ "${before_id:-none}" = none ]; then last_good='no backup of it was committed before'
  else last_good="the last backup committed before: $before_id${before_at:+ (committed $before_at)}"; fi
  last_json=null; [ "${before_id:-none}" = none ] || last_json=$(json_str "$before_id")
  STATUS_EXTRA=$(printf ',"corruption":{"database":%s,"relation":%s,"block":%s,"error":%s,"first_seen":"%s","last_good_backup":%s}' \
    "$(json_str "$db")" "$(json_str "${relation:-}")" "${block:-null}" "$(json_str "$line")" "$first_seen" "$last_json")
  discard
  finish 3 "$db: CORRUPTION: the dump hit damaged data in $what ($line); refusing it. First seen $first_seen; $last_good"
}

good() { # good DB ID: this host's record of its last good backup; corruption seen earlier is behind it now
  printf '%s %s\n' "$2" "$(now)" > "$WORK/.good.$1.tmp" && mv "$WORK/.good.$1.tmp" "$WORK/.good.$1"
  rm -f "$WORK/.corrupt.$1"
}
