# --- body: the recovery window of each archiving host, judged on the store (POSIX sh, part of ironclad-pitr; the
# functions it calls, load/say/alert/lsn_ok/id_ok, are in src/pitr/store.sh). Verbs: status [HOST], prune, health.
# Only the store's own files are read: segment names and base records are matched against fixed shapes again here.

# window: the facts of HOST's archive for one awk (segments, partial, index, bases), judged by judge()
facts() {
  segs=$(cat "$A/segsize" 2> /dev/null || echo 16777216)
  printf 'Z %s %s %s %s %s\n' "$H" "$CLUSTER" "$segs" "$(date -u +%s)" "$STALL"
  find "$WAL" -maxdepth 1 -type f -name '*.gz.age' -printf 'S %f %T@\n' 2> /dev/null
  [ ! -f "$INDEX" ] || sed 's/^/I /' "$INDEX"
  [ ! -f "$A/latest" ] || sed 's/^/P /' "$A/latest"
  for b in "$BASE"/*/backup.json; do [ -f "$b" ] && printf 'B %s\n' "$(tr -d '\n' < "$b")"; done
  if [ -e "$SPOOL/$H.lock" ] && ! flock -n "$SPOOL/$H.lock" true; then echo 'R 1'; else echo 'R 0'; fi
  [ ! -f "$ST/alive" ] || find "$ST/alive" -printf 'L %T@\n'
  [ ! -f "$A/stopped" ] || printf 'X %s\n' "$(head -c 200 "$A/stopped" | tr -d '"\\\n')"
  [ ! -f "$A/since" ] || printf 'T %s\n' "$(head -c 64 "$A/since" | head -n 1 | tr -d '"\\\n')"
}

# judge: one JSON line per host: {host, cluster, earliest, latest, lag_s, archiving, bases, segments, gap, ...}
judge() {
  awk 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
    function segno(n) { return hex(substr(n, 9, 8)) * (4294967296 / size) + hex(substr(n, 17, 8)) }
    function lsnseg(l,  p) { p = index(l, "/"); return int((hex(substr(l, 1, p - 1)) * 4294967296 + hex(substr(l, p + 1))) / size) }
    function iso(e) { return strftime("%Y-%m-%dT%H:%M:%SZ", e, 1) }
    function q(s) { return s == "" ? "null" : "\"" s "\"" }
    function norm(t) { return t == "" ? "" : index(t, ".") ? t : substr(t, 1, 19) ".000000Z" }  # (compared as text)
    function seg(s) { return length(s) == 24 && s !~ /[^0-9A-F]/ }
    function time(s) { return length(s) == 27 && s ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]+Z$/ }
    $1 == "Z" { host = $2; cluster = $3; size = $4; now = $5; stall = $6 }
    $1 == "S" && seg(substr($2, 1, 24)) && substr($2, 25) == ".gz.age" { n = substr($2, 1, 24); s = segno(n); have[s] = 1; nsegs++; if (!(s in seen)) { seen[s] = 1; list[++ns] = s }
      if ($3 > arrived) arrived = $3 }
    $1 == "I" && seg($2) && time($5) && $5 > latest { latest = $5 }
    $1 == "P" && seg($2) { partial = segno($2); if (time($3) && $3 > latest) latest = $3; if ($4 + 0 > arrived) arrived = $4 + 0 }
    $1 == "B" && match($0, /"id":"[0-9]+T[0-9]+Z","host":"[^"]*","start_lsn":"[0-9A-F]+\/[0-9A-F]+","end_lsn":"[0-9A-F]+\/[0-9A-F]+","start_time":"[^"]*","end_time":"[0-9T:Z-]+"/) {
      split(substr($0, RSTART, RLENGTH), f, "\""); if (length(f[24]) == 20) { nb++; bid[nb] = f[4]; bstart[nb] = f[12]; bend[nb] = f[16]; bendt[nb] = f[24] } }
    $1 == "R" { running = $2 }
    $1 == "L" && running == 1 && $2 > arrived { arrived = $2 }
    $1 == "X" { stopped = substr($0, 3) }
    $1 == "T" && NF == 2 && $2 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/ { since = $2 }
    END {
      # the partial counts only while it is ahead of every archived segment (a stale record names a segment since done)
      top = -1; for (i = 1; i <= ns; i++) if (list[i] > top) top = list[i]
      if (partial != "" && partial > top) { have[partial] = 1; list[++ns] = partial }
      # sort the segment numbers; a gap is a missing number between the first and the last
      for (i = 2; i <= ns; i++) { v = list[i]; for (j = i - 1; j >= 1 && list[j] > v; j--) list[j + 1] = list[j]; list[j + 1] = v }
      gapat = -1; for (i = 2; i <= ns; i++) if (list[i] > list[i - 1] + 1) gapat = list[i]
      # earliest: the end of the oldest base whose WAL is all here, from its start to the newest segment
      earliest = ""; eid = ""
      for (k = 1; k <= nb; k++) {
        s = lsnseg(bstart[k]); e = lsnseg(bend[k])
        if (!(s in have) || !(e in have) || s < gapat) continue
        if (earliest == "" || bendt[k] < earliest) { earliest = bendt[k]; eid = bid[k] }  # (both the store clock, to the second)
        if (bid[k] > nid) nid = bid[k]
      }
      nowiso = iso(now)
      if (norm(latest) > norm(nowiso)) latest = nowiso   # a host clock in the future never extends the window
      # (no commit since the window opened: restoring to the end of the WAL gives the state at its start)
      if (earliest == "") latest = ""; else if (latest == "" || norm(latest) < norm(earliest)) latest = earliest
      lag = ""
      if (latest != "") { split(latest, d, /[-T:.Z]/); lag = now - mktime(d[1] " " d[2] " " d[3] " " d[4] " " d[5] " " d[6]) }
      still = arrived == "" ? "" : int(now - arrived)
      ok = running == 1 && stopped == "" && earliest != "" && still != "" && still <= stall
      printf "{\"host\":\"%s\",\"cluster\":\"%s\",\"earliest\":%s,\"latest\":%s,\"lag_s\":%s,\"archiving\":%s,\"bases\":%d,\"segments\":%d,\"gap\":%s,\"received_s\":%s,\"receiver\":%s,\"stopped\":%s,\"earliest_base\":%s,\"newest_base\":%s,\"since\":%s}\n",
        host, cluster, q(earliest), q(latest), (lag == "" ? "null" : lag), (ok ? "true" : "false"), nb, nsegs, (gapat >= 0 ? "true" : "false"),
        (still == "" ? "null" : still), (running == 1 ? "true" : "false"), q(stopped), q(eid), q(nid), q(since)
    }'
}

status() {
  if [ $# -ge 1 ]; then load "$1"; facts | judge; return; fi
  for h in $(printf '%s\n' "$HOSTS" | awk 'NF { print $1 }'); do (load "$h" && facts | judge); done
}

# prune HOST BASES DAYS [--dry-run]: keep the newest BASES base backups, those younger than DAYS days (the store's ids),
# and every base from the newest whose WAL is whole on; remove WAL only from before the oldest base kept: no gap inside
prune() {
  load "$1"
  case "$2$3" in '' | *[!0-9]*) die "bad counts '$2' '$3'" ;; esac
  dry=${4:-}
  keep_from=$(date -u -d "@$(($(date -u +%s) - $3 * 86400))" +%Y%m%d%H%M%S)
  window=$(facts | judge | sed -n 's/.*"newest_base":"\([0-9TZ]*\)".*/\1/p')  # the newest base whose WAL is whole
  oldest='' i=0
  for b in $(find "$BASE" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort -r); do
    id_ok "$b" || continue
    i=$((i + 1))
    num=$(printf '%s' "$b" | tr -d TZ) wnum=$(printf '%s' "${window:-0}" | tr -d TZ)
    if [ "$i" -le "$2" ] || [ "$num" -gt "$keep_from" ] || { [ -n "$window" ] && [ "$num" -ge "$wnum" ]; }; then oldest=$b; continue; fi
    if [ -n "$dry" ]; then echo "would remove base $H/$b"; else rm -rf "${BASE:?}/$b" && echo "removed base $H/$b"; fi
  done
  [ -n "$oldest" ] || { echo "no base backup of $H: no WAL removed"; return 0; }
  start=$(sed -n 's/.*"start_lsn":"\([0-9A-F/]*\)".*/\1/p' "$BASE/$oldest/backup.json")
  lsn_ok "$start" || die "$oldest: no start_lsn"
  first=$(awk -v l="$start" -v size="$(cat "$A/segsize" 2> /dev/null || echo 16777216)" 'function hex(s,  i, v) { v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
    BEGIN { p = index(l, "/"); printf "%08X%08X\n", hex(substr(l, 1, p - 1)), int(hex(substr(l, p + 1)) / size) }')
  n=0
  for f in $(find "$WAL" -maxdepth 1 -type f -name '*.gz.age' -printf '%f\n' | awk -v first="$first" 'length($0) == 31 && /^[0-9A-F]+\.gz\.age$/ && substr($0, 9, 16) < first'); do
    n=$((n + 1))
    [ -n "$dry" ] || rm -f "$WAL/$f"
  done
  if [ -z "$dry" ] && [ "$n" -gt 0 ] && [ -f "$INDEX" ]; then
    awk -v first="$first" 'substr($1, 9) >= first' "$INDEX" > "$INDEX.tmp" && sync "$INDEX.tmp" && mv "$INDEX.tmp" "$INDEX" && sync "$A"
  fi
  printf '%s %s WAL segments of %s older than base %s (%s)\n' "$([ -n "$dry" ] && echo 'would remove' || echo removed)" "$n" "$H" "$oldest" "$start"
}

# health: exit 3 naming each host whose window stopped growing (no WAL for longer than its bound, by the store's
# clock), that has a gap, no complete base backup, or a receiver stopped
health() {
  bad=''
  for h in $(printf '%s\n' "$HOSTS" | awk 'NF { print $1 }'); do
    j=$(load "$h" && facts | judge) || { bad="$bad $h(no status)"; continue; }
    why=$(printf '%s\n' "$j" | awk -v stall="$(load "$h" && echo "$STALL")" '{
      w = ""
      if ($0 ~ /"receiver":false/) w = w " receiver not running;"
      if (match($0, /"received_s":[0-9]+/) && substr($0, RSTART + 13, RLENGTH - 13) + 0 > stall) w = w " no WAL for " substr($0, RSTART + 13, RLENGTH - 13) " s;"
      if ($0 ~ /"received_s":null/) w = w " no WAL received yet;"
      if ($0 ~ /"gap":true/) w = w " a gap in the WAL;"
      if ($0 ~ /"earliest":null/) w = w " no restorable base backup;"
      if (match($0, /"stopped":"[^"]*"/)) w = w " stopped: " substr($0, RSTART + 11, RLENGTH - 12) ";"
      print w }')
    if [ -n "$why" ]; then printf 'late %s:%s\n' "$h" "$why"; bad="$bad $h"; else printf 'ok %s\n' "$h"; fi
  done
  [ -n "$bad" ] || return 0
  [ "${1:-}" = --no-alert ] || alert "the recovery window stopped growing:$bad"
  exit 3
}
