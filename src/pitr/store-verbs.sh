# --- the other verbs (after store-receive.sh): base backups, drill records, partial segments for readers, the
# restoring hosts' reads; then the verb of the command line. ---
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
      receive) [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --keepalive ]; } || die "usage: receive HOST [--keepalive]"; receive "$@" ;;
      base) [ $# -eq 1 ] || die "usage: base HOST"; base "$1" ;;
      prune) [ $# -ge 3 ] || die "usage: prune HOST BASES DAYS [--dry-run]"; prune "$@" ;;
      status) status "$@" ;;
      health) health "$@" ;;
      record) [ $# -eq 1 ] || die "usage: record HOST < drill.json"; record "$1" ;;
      partial) [ $# -eq 2 ] || die "usage: partial HOST SEGMENT"; partial "$@" ;;
    esac ;;
  *) die "usage: ironclad-pitr receive HOST [--keepalive] | base HOST | prune HOST BASES DAYS [--dry-run] | status [HOST] | health [--no-alert] | record HOST | reader HOSTS VERB ..." ;;
esac
