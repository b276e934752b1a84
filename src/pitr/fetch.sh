# --- body: fetch what a point-in-time restore needs from the store onto this host (POSIX sh, as root). ---
# Rendered above: STORE (user@address), PORT, CIPHERS, SRC (the database host whose archive is read), MODE and, by
# mode, ID, STAGE, WALDIR, SEGSIZE, SEGMENTS, PROGRESS. Uses this host's read key (the store's forced command lets
# it read only the archives of the hosts it restores) and its own age identity; nothing here contacts SRC itself.
#   list      the store's list: each base backup's backup.json and the WAL index (checked by the caller)
#   base      base backup ID, decrypted and unpacked by postgres into STAGE/data (a new folder); only plain files
#             and folders are accepted; prints @@version, @@segsize, @@sysid, @@label LSN TLI (checked by the caller)
#   wal       SEGMENTS (consecutive) into WALDIR (postgres' own) in one session (the store's pitr-wal FIRST LAST, framed),
#             JOBS decrypted at once, each to a temp name, its size checked, then renamed; one already there is kept (a
#             resumed fetch); progress in PROGRESS.wal (the base's beside it)
#   partial   segment ID as the store is still receiving it (zero-padded), or its archived copy once complete
#             (@@partial yes, or @@partial no REASON)
#   commits   the newest commit time in segment ID of WALDIR (pg_waldump), @@commit TIME or @@commit none
# STAGE and WALDIR lie in postgres' own folder, where postgres (and whoever runs code as it) can plant a link: root
# never writes, changes or reads a file there (a link would turn its write on any file of the host); postgres does.
set -eu
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C TZ=UTC
IDENTITY=/var/lib/ironclad/age-identity
JOBS=3  # WAL segments decrypted at once (the stream's reading and the replay share the host's cores)
fail() { printf 'ironclad-pitr-fetch: %s\n' "$*" >&2; exit 1; }
store() {
  ssh -n -i /var/lib/ironclad/refresh_ed25519 -p "$PORT" -o Ciphers="$CIPHERS" -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile=/var/lib/ironclad/known_hosts -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 "$STORE" "$@"
}
pg() { runuser -u postgres -- "$@"; }
# the store compresses with zstd (gzip before, and on a store without zstd): zstd -d reads both
if command -v zstd > /dev/null; then UNZ='zstd -d -q -c'; else UNZ='gzip -d'; fi
cd / || exit 1
[ -r "$IDENTITY" ] || fail "this host holds no age identity ($IDENTITY): it does not restore $SRC (ironclad apply makes it a restorer)"

# fetch_to FILE CMD...: one encrypted stream (CMD's output: the store's answer), decrypted
# (root: the identity) then decompressed ($UNZ) by postgres into FILE, a new file in postgres' folder (made exclusively: whatever stood there is removed first, a link is never followed);
# fails when any stage failed
fetch_to() {
  out=$1; shift
  rc=$(mktemp -d /tmp/ironclad-pitr-rc.XXXXXX)
  { "$@" 2> "$rc/err" || echo $? > "$rc/ssh"; } | { age -d -i "$IDENTITY" 2> "$rc/age.err" || echo $? > "$rc/age"; } |
    { pg sh -c 'rm -f "$1" && set -C && exec $2 > "$1"' sh "$out" "$UNZ" 2> "$rc/gz.err" || echo $? > "$rc/gz"; }
  why=''
  [ ! -e "$rc/ssh" ] || why="the store refused or failed: $(tail -n 1 "$rc/err")"
  [ -n "$why" ] || [ ! -e "$rc/age" ] || why="cannot decrypt with this host's identity: $(tail -n 1 "$rc/age.err")"
  [ -n "$why" ] || [ ! -e "$rc/gz" ] || why="not a complete compressed stream: $(tail -n 1 "$rc/gz.err")"
  rm -rf "$rc"
  [ -z "$why" ] || { printf '%s\n' "$why" >&2; return 1; }
}

# get_one SEGMENT DIR: DIR/SEGMENT.age (read off the store's stream) into WALDIR/SEGMENT: decrypted, then decompressed
# to a temp name and its size checked by one shell of postgres', renamed only once every stage succeeded (two user
# switches a segment, not four); a failure is a line in DIR/errs
get_one() {
  r=$2/$1
  { age -d -i "$IDENTITY" "$r.age" 2> "$r.age.err" || echo $? > "$r.age.rc"; } |
    { pg sh -c 'rm -f "$1" && set -C && $2 > "$1" || exit 4
        s=$(stat -c %s "$1") && [ "$s" = "$3" ] || { echo "$s"; exit 5; }' sh "$WALDIR/.$1.tmp" "$UNZ" "$SEGSIZE" > "$r.pg" 2> "$r.pg.err" || echo $? > "$r.pg.rc"; }
  if [ -e "$r.age.rc" ]; then echo "WAL segment $1 could not be fetched: cannot decrypt with this host's identity: $(tail -n 1 "$r.age.err")"
  elif [ -e "$r.pg.rc" ] && [ "$(cat "$r.pg.rc")" = 5 ]; then echo "WAL segment $1 from the store has $(cat "$r.pg") bytes, not $SEGSIZE"
  elif [ -e "$r.pg.rc" ]; then echo "WAL segment $1 could not be fetched: not a complete compressed stream: $(tail -n 1 "$r.pg.err")"
  elif pg mv "$WALDIR/.$1.tmp" "$WALDIR/$1"; then rm -f "$r".*; return 0
  else echo "WAL segment $1 could not be put in $WALDIR"; fi >> "$2/errs"
  rm -f "$r".*
  pg rm -f "$WALDIR/.$1.tmp"
}

# header: the next 42 bytes of the stream, as `TAG NAME SIZE` (any other byte than a letter, digit or space shown as |)
header() { head -c 42 | tr -c 'A-Za-z0-9 ' '|'; }

# unframe DIR: the store's pitr-wal answer on stdin (`seg NAME SIZE` + SIZE bytes, ..., `end LAST COUNT`) into WALDIR,
# each segment handed to get_one in the background (JOBS slots); a segment already there ($have) is read and dropped
unframe() {
  n=0 max=$((2 * SEGSIZE + 65536))
  for want in $SEGMENTS; do
    [ ! -s "$1/errs" ] || return 1
    h=$(header)
    case "$h" in
      "seg $want "[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'|') size=${h#"seg $want "}; size=${size%'|'} ;;
      '') printf 'the store'\''s answer ended after %s of %s WAL segments (before %s)\n' "$n" "$total" "$want" >&2; return 1 ;;
      *) printf 'the store sent %s where WAL segment %s was due (%s of %s)\n' "$h" "$want" "$((n + 1))" "$total" >&2; return 1 ;;
    esac
    size=$(printf '%s' "$size" | sed 's/^0*\(.\)/\1/')
    [ "$size" -le "$max" ] || { printf 'the store says WAL segment %s has %s bytes, more than a segment of %s can take\n' "$want" "$size" "$SEGSIZE" >&2; return 1; }
    read -r _ <&8
    if case "$have" in *" $want "*) true ;; *) false ;; esac; then got=$(head -c "$size" | wc -c); echo >&8
    else head -c "$size" > "$1/$want.age"; got=$(stat -c %s "$1/$want.age"); fi
    [ "$got" = "$size" ] || { printf 'the store'\''s answer was cut within WAL segment %s (%s of %s bytes)\n' "$want" "$got" "$size" >&2; return 1; }
    [ -e "$1/$want.age" ] && { get_one "$want" "$1"; echo >&8; } &
    n=$((n + 1))
    printf 'copying %s %s %s %s\n' "$n" "$total" "$((n * SEGSIZE))" "$((total * SEGSIZE))" > "$PROGRESS.wal.tmp" && mv "$PROGRESS.wal.tmp" "$PROGRESS.wal"
  done
  h=$(header)
  [ "$h" = "end $last $(printf %012d "$n")|" ] || { printf 'the store sent %s where the end of its answer (%s segments) was due\n' "${h:-nothing}" "$n" >&2; return 1; }
  [ "$(head -c 1 | wc -c)" = 0 ] || { echo 'the store sent more after the end of its answer' >&2; return 1; }
  wait
}

case "$MODE" in
  list)
    store pitr-list "$SRC" | head -c 67108864 ;;
  base)
    [ ! -e "$STAGE" ] || fail "$STAGE already exists: a restore of that name ran here before (remove it, or name another cluster)"
    pg mkdir -p -m 700 "$(dirname "$STAGE")" && pg mkdir -m 700 "$STAGE" "$STAGE/data" || fail "postgres cannot make $STAGE"
    rc=$(mktemp -d /tmp/ironclad-pitr-rc.XXXXXX)
    # the archive is unpacked by postgres (never root) into its own new folder, and checked before anything reads it
    { store pitr-get "$SRC" base "$ID" 2> "$rc/err" || echo $? > "$rc/ssh"; } | { dd bs=1M status=progress 2> "$PROGRESS" || echo $? > "$rc/dd"; } |
      { age -d -i "$IDENTITY" 2> "$rc/age.err" || echo $? > "$rc/age"; } | { $UNZ 2> "$rc/gz.err" || echo $? > "$rc/gz"; } |
      { runuser -u postgres -- tar -x -f - -C "$STAGE/data" --no-same-owner --no-same-permissions 2> "$rc/tar.err" || echo $? > "$rc/tar"; }
    why=''
    # (the store's word first; a stream cut without one, e.g. by a stage that failed after it, says the stage's)
    [ ! -s "$rc/err" ] || [ ! -e "$rc/ssh" ] || why="the store refused base backup $ID: $(tail -n 1 "$rc/err")"
    [ -n "$why" ] || [ ! -e "$rc/age" ] || why="cannot decrypt base backup $ID with this host's identity: $(tail -n 1 "$rc/age.err")"
    [ -n "$why" ] || [ ! -e "$rc/gz" ] || why="base backup $ID is not a complete compressed stream: $(tail -n 1 "$rc/gz.err")"
    [ -n "$why" ] || [ ! -e "$rc/tar" ] || why="unpacking base backup $ID failed: $(tail -n 2 "$rc/tar.err" | tr '\n' ' ')"
    [ -n "$why" ] || [ ! -e "$rc/ssh" ] || why="the connection to the store ended (exit $(cat "$rc/ssh")) before base backup $ID was whole"
    [ -n "$why" ] || [ ! -e "$rc/dd" ] || why="reading base backup $ID failed"
    rm -rf "$rc"
    [ -z "$why" ] || { pg rm -rf "$STAGE"; fail "$why"; }
    data=$STAGE/data
    # nothing but plain files and folders (a link could point a later write anywhere)
    odd=$(pg find "$data" ! -type f ! -type d | head -n 3)
    [ -z "$odd" ] || { pg rm -rf "$STAGE"; fail "base backup $ID holds something other than plain files and folders: $(printf '%s' "$odd" | tr -c '[:alnum:]/._\n-' '?' | tr '\n' ' ')"; }
    pg test -f "$data/backup_label" && pg test -f "$data/global/pg_control" && pg test -f "$data/PG_VERSION" || { pg rm -rf "$STAGE"; fail "base backup $ID is not a PostgreSQL base backup (no backup_label, pg_control or PG_VERSION)"; }
    version=$(pg head -c 8 "$data/PG_VERSION" | tr -dc '0-9')
    printf '@@version %s\n' "$version"
    [ -x "/usr/lib/postgresql/$version/bin/pg_controldata" ] || { pg rm -rf "$STAGE"; fail "base backup $ID is of PostgreSQL $version, which this host does not have"; }
    control=$(pg "/usr/lib/postgresql/$version/bin/pg_controldata" "$data") || { pg rm -rf "$STAGE"; fail "pg_controldata cannot read base backup $ID"; }
    printf '%s\n' "$control" | sed -n 's/^Bytes per WAL segment: *\([0-9]\{1,12\}\)$/@@segsize \1/p; s/^Database system identifier: *\([0-9]\{1,20\}\)$/@@sysid \1/p'
    pg head -c 4096 "$data/backup_label" | sed -n 's/^START WAL LOCATION: \([0-9A-F]\{1,8\}\/[0-9A-F]\{1,8\}\) (file [0-9A-F]\{24\})$/@@label_lsn \1/p; s/^START TIMELINE: \([0-9]\{1,10\}\)$/@@label_tli \1/p' ;;
  wal)
    pg mkdir -p -m 700 "$WALDIR" || fail "postgres cannot make $WALDIR"
    total=0 first='' last=''
    for s in $SEGMENTS; do total=$((total + 1)) first=${first:-$s} last=$s; done
    work=$(mktemp -d /tmp/ironclad-pitr-wal.XXXXXX)
    # the segments a fetch before this one left (plain files, listed once): read off the stream and dropped
    have=" $(pg find "$WALDIR" -mindepth 1 -maxdepth 1 -type f -name '[0-9A-F]*' -printf '%f ') "
    # JOBS slots (a fifo of tokens): at most JOBS segments wait in $work or are being decrypted at once
    mkfifo "$work/slots" && exec 8<> "$work/slots" || fail "cannot make $work/slots"
    i=0; while [ "$i" -lt "$JOBS" ]; do echo >&8; i=$((i + 1)); done
    # every segment from FIRST to LAST in one session with the store; each read off the stream whole, then decrypted
    # beside the next one's reading; a stream that is short, long, or names another segment than the next asked fails
    { store pitr-wal "$SRC" "$first" "$last" 2> "$work/err" || echo $? > "$work/ssh"; } |
      { unframe "$work" 2> "$work/frame" || echo $? > "$work/unframe"; wait; }
    why=''
    [ ! -e "$work/unframe" ] || why="$(tail -n 1 "$work/frame")"
    [ ! -e "$work/ssh" ] || why="${why:+$why; }the store refused or failed: $(tail -n 1 "$work/err")"
    [ -n "$why" ] || [ ! -s "$work/errs" ] || why=$(head -n 3 "$work/errs" | tr '\n' ' ')
    rm -rf "$work"
    exec 8>&-
    [ -z "$why" ] || fail "$why" ;;
  partial)
    pg mkdir -p -m 700 "$WALDIR" || fail "postgres cannot make $WALDIR"
    err=$(mktemp /tmp/ironclad-pitr-partial.XXXXXX)
    # (a partial file may be shorter than a segment: it is padded with zeroes, which recovery reads as the WAL's end)
    if fetch_to "$WALDIR/.$ID.tmp" store pitr-partial "$SRC" "$ID" 2> "$err" && size=$(pg stat -c %s "$WALDIR/.$ID.tmp") &&
      [ "$size" -le "$SEGSIZE" ] && [ "$size" -gt 0 ] && pg truncate -s "$SEGSIZE" "$WALDIR/.$ID.tmp"; then
      pg mv "$WALDIR/.$ID.tmp" "$WALDIR/$ID" && echo '@@partial yes'
    else
      [ -s "$err" ] || [ -z "${size:-}" ] || printf 'the store sent %s bytes\n' "$size" > "$err"
      printf '@@partial no %s\n' "$(tail -n 1 "$err" | tr -c '[:print:]' ' ' | cut -c 1-200)"
      pg rm -f "$WALDIR/.$ID.tmp"
    fi
    rm -f "$err" ;;
  commits)
    bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4 -n | tail -n 1)
    # the last COMMIT record's time; a partial segment ends in zeroes, which pg_waldump reports as the end (ignored)
    t=$(runuser -u postgres -- "$bin/pg_waldump" -p "$WALDIR" "$ID" 2> /dev/null | sed -n 's/.*desc: COMMIT \([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\} [0-9:.]\{8,15\} [A-Z]\{1,5\}\).*/\1/p' | tail -n 1)
    printf '@@commit %s\n' "${t:-none}" ;;
  *) fail "unknown mode $MODE" ;;
esac
