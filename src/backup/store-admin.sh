# --- body: the backup store's verbs for root on the store (POSIX sh), part of its script (src/backup/store.sh, rendered
# before it; its variables and helpers are defined there before any verb runs): retention, health, drill records. ---
# prune HOST DAILY WEEKLY MONTHLY [--dry-run]: by the store's receive time, never the hosts' clocks. Kept: everything
# younger than DAILY days, the newest, the newest verified, the newest of each of the last WEEKLY weeks and MONTHLY
# 30-day months. A burst of uploads adds backups; it cannot age the others out.
prune() {
  host=$1 dry=${5:-}
  names_ok "$host"
  for v in "$2" "$3" "$4"; do case "$v" in '' | *[!0-9]*) die "bad count '$v'" ;; esac; done
  now=$(date -u +%s)
  for dbdir in "$ROOT/$host"/*/; do
    [ -d "$dbdir" ] || continue
    db=$(basename "$dbdir"); name_ok "$db" || continue
    catalog "$host" "$db" | awk -v now="$now" -v d="$2" -v w="$3" -v m="$4" '
      { t[NR] = $1; id[NR] = $2; v[NR] = $3 }
      END {
        # the newest older than the daily window: backups stopped, or the store clock jumped; remove nothing then
        frozen = NR && now - t[NR] >= d * 86400
        for (i = NR; i >= 1; i--) {
          age = now - t[i]; why = ""
          if (i == NR) why = "the newest"
          if (v[i] && !verified) { verified = 1; if (why == "") why = "the newest verified" }
          if (age < d * 86400 && why == "") why = "younger than " d " days"
          wk = int(age / 604800); if (wk < w && !(wk in W)) { W[wk] = 1; if (why == "") why = "the newest of its week" }
          mo = int(age / 2592000); if (mo < m && !(mo in M)) { M[mo] = 1; if (why == "") why = "the newest of its month" }
          if (frozen && why == "") why = "nothing is removed while the newest backup is older than " d " days"
          print (why == "" ? "remove" : "keep"), id[i], why
        }
      }' | while read -r what id why; do
      if [ "$what" = keep ]; then printf 'keep %s/%s/%s (%s)\n' "$host" "$db" "$id" "$why"
      elif [ -n "$dry" ]; then printf 'would remove %s/%s/%s\n' "$host" "$db" "$id"
      else rm -rf "${dbdir:?}$id" && printf 'removed %s/%s/%s\n' "$host" "$db" "$id"; fi
    done
  done
  # uploads never committed (a job stopped for good, or its store unreachable since) go after a week: by the time the
  # store last saw them change (ctime: a host can set mtimes), each name given whole to rm (a name may hold a newline)
  if [ -n "$dry" ]; then find "$ROOT/incoming/$host" "$ROOT/.staging" -mindepth 1 -maxdepth 1 -ctime +7 -printf 'would remove %p (never committed)\n' 2> /dev/null
  else find "$ROOT/incoming/$host" "$ROOT/.staging" -mindepth 1 -maxdepth 1 -ctime +7 -printf 'removed %p (never committed)\n' -exec rm -rf -- {} + 2> /dev/null; fi
  true
}

# health: every database that backs up here has a committed backup within its schedule plus grace (HEALTH lines:
# HOST DB MAX_AGE_SECONDS), judged by the store's clock and catalog alone, whether the database host is up or not
health() {
  now=$(date -u +%s) late='' metrics=''
  while read -r h d max; do
    [ -n "$h" ] || continue
    newest=$(catalog "$h" "$d" | tail -n 1); t=${newest%% *}
    # (no backup yet: counted from when apply made the host's lock, a file only root touches)
    if [ -z "$newest" ]; then since=$(stat -c %Z "$LOCKS/$h" 2> /dev/null || echo "$now"); age=$((now - since)); what='no backup yet'
    else age=$((now - t)); what="newest $(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)"; fi
    if [ "$age" -gt "$max" ]; then state=late late="$late $h/$d"
    elif [ "$age" -lt -300 ]; then state=late late="$late $h/$d" what="$what, in the future by the store's clock (did the clock jump back?)"
    else state=ok; fi
    printf '%s %s/%s: %s, %s s old (allowed %s s)\n' "$state" "$h" "$d" "$what" "$age" "$max"
    metrics="${metrics}ironclad_backup_age_seconds{host=\"$h\",database=\"$d\"} $age
ironclad_backup_late{host=\"$h\",database=\"$d\"} $([ "$state" = late ] && echo 1 || echo 0)
"
  done <<HEALTH_EOF
$HEALTH
HEALTH_EOF
  if [ -n "$TEXTFILE" ]; then
    mkdir -p "$(dirname "$TEXTFILE")" && printf '# TYPE ironclad_backup_age_seconds gauge\n# TYPE ironclad_backup_late gauge\n%s' "$metrics" > "$TEXTFILE.tmp" && mv "$TEXTFILE.tmp" "$TEXTFILE"
  fi
  [ -n "$late" ] || return 0
  if [ -n "$ALERT" ] && [ "${1:-}" != --no-alert ]; then sh -c "$ALERT \"\$1\"" ironclad-alert "ironclad store $(hostname): late backups:$late" || true; fi
  exit 3
}

# record HOST DB ID: a restore drill's result (one JSON line on stdin, from ironclad), kept beside the backup
record() {
  names_ok "$1" "$2" "$3"
  b="$ROOT/$1/$2/$3"
  [ -d "$b" ] && [ ! -L "$b" ] && [ "$(stat -c %u "$b")" = 0 ] || die "no backup $1/$2/$3 (or not one the store committed)"
  rm -f "$b/.verified.json.tmp"
  head -c 65536 | head -n 1 > "$b/.verified.json.tmp"
  grep -Eq '^\{"verified":(true|false),"at":"[0-9T:Z-]{20}"' "$b/.verified.json.tmp" || { rm -f "$b/.verified.json.tmp"; die "not a drill result"; }
  chgrp "$UGROUP" "$b/.verified.json.tmp" && chmod 440 "$b/.verified.json.tmp" && sync "$b/.verified.json.tmp" && mv "$b/.verified.json.tmp" "$b/verified.json" && sync "$b"
}
