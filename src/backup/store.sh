# --- body: the backup store (POSIX sh). ROOT, UPLOADER, MIN_FREE, HEALTH, ALERT, TEXTFILE are rendered above by `ironclad apply`. ---
# The store decides; hosts only propose. Three ways in:
#   ironclad-store client HOST   the forced command of HOST's backup key (runs as the upload account): put or rsync
#                                into incoming/HOST only, commit (through sudo, as root), discard an upload, last DB
#   ironclad-store reader H,...  the forced command of a restoring host's read key: files/get of H's committed backups
#   ironclad-store VERB ...      root on the store: commit, prune, health, record (a drill's result)
# Committed backups belong to root (group: the upload account, read-only); the upload account writes only under
# incoming/. The id and time of a backup are the store's, assigned at commit; the host's clock is only recorded.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
umask 027
cd / || exit 1  # nothing is ever resolved against the caller's folder

SPOKE=''  # set once the script said why it stops: any other failure (set -e) still says something as it ends
die() { SPOKE=1; printf 'ironclad-store: %s\n' "$*" >&2; exit 1; }
refuse() { SPOKE=1; printf 'ironclad-store: refused: %s\n' "$*" >&2; exit 3; }
quit() { rc=$?; SPOKE=1; exit "$rc"; }  # X=$(F) || quit: F (a subshell) said why it failed; the script ends with its code
ending() { rc=$?; [ "$rc" -eq 0 ] || [ -n "$SPOKE" ] || printf 'ironclad-store: stopped unexpectedly (exit %s)\n' "$rc" >&2; }
trap ending EXIT
name_ok() { case "$1" in '' | *[!A-Za-z0-9._\$-]* | .* | incoming) return 1 ;; *) [ "${#1}" -le 200 ] ;; esac; }
names_ok() { for n in "$@"; do name_ok "$n" || die "bad name '$n'"; done; }
is_root() { [ "$(id -u)" = 0 ]; }
LOCKS="$ROOT/.locks"
UGROUP=''  # the upload account's group: root's verbs look it up (below); the upload account's calls never need it
SAFE='"[A-Za-z0-9 ._:+()~/-]{0,100}"'
TIME='"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"'
HEX='"[0-9a-f]{64}"'
# the one shape of an uploaded manifest (schemas/manifest.schema.json says the same): one line, fixed keys, no escapes
MANIFEST_RE='^\{"format":2,"host":"[A-Za-z0-9._-]{1,100}","database":"[A-Za-z0-9_$-]{1,63}","cluster":'$SAFE',"system_identifier":"[0-9]{1,20}","server_version":'$SAFE',"dump_format":"(custom|directory)","encrypted":true,"started_at":'$TIME',"finished_at":'$TIME',"tables":[0-9]{1,12},"rows":[0-9]{1,19},"bytes":[0-9]{1,19},"newest_event":(null|'$SAFE'),"files":\{"(dump\.pgdump\.age|dump\.tar\.age)":'$HEX',"counts\.json\.age":'$HEX'\}\}$'

# committed backups of HOST/DB as "EPOCH ID VERIFIED" lines, oldest first (the store's receive time; legacy: mtime)
catalog() {
  d="$ROOT/$1/$2"
  [ -d "$d" ] || return 0
  # three processes whatever the number of backups: the store's records, the legacy ones' times, the drills passed
  # (only folders root owns: a folder the upload account could have made or changed is no backup)
  { find "$d" -mindepth 2 -maxdepth 2 -name store.json -user 0 -exec awk '
      FNR == 1 && match($0, /"received_epoch":[0-9]+/) { n = split(FILENAME, p, "/"); print substr($0, RSTART + 17, RLENGTH - 17), p[n - 1] }' {} +
    find "$d" -mindepth 2 -maxdepth 2 -name manifest.json -user 0 -printf '%h\n' | while read -r b; do
      [ -f "$b/store.json" ] || [ "$(stat -c %u "$b")" != 0 ] || printf '%s %s\n' "$(stat -c %Y "$b")" "${b##*/}"
    done
  } | awk -v verified="$(find "$d" -mindepth 2 -maxdepth 2 -name verified.json -user 0 -exec grep -l '"verified":true' {} + 2> /dev/null | awk -F/ '{ printf "%s ", $(NF - 1) }')" '
    BEGIN { n = split(verified, v, " "); for (i = 1; i <= n; i++) ok[v[i]] = 1 }
    $2 ~ /^[A-Za-z0-9_$-][A-Za-z0-9._$-]*$/ { print $1, $2, ($2 in ok) ? 1 : 0 }' | sort -n -k1,1 -k2,2
}

room() { # room NEED: the bytes an upload may take and still leave MIN_FREE free; refused when that is less than NEED
  set -- "${1:-0}"
  # (one awk reads df's line and judges it; no line from df: refused)
  df -Pk "$ROOT" | awk -v need="$1" -v min="$MIN_FREE" 'NR == 2 {
    seen = 1; total = $2 * 1024; avail = $4 * 1024
    n = min + 0; u = substr(min, length(n "") + 1)
    if (u == "%") floor = total * n / 100; else floor = n * (u ~ /^K/ ? 1024 : u ~ /^M/ ? 1048576 : u ~ /^G/ ? 1073741824 : u ~ /^T/ ? 1099511627776 : 1)
    if (avail - need < floor) exit 1
    printf "%.0f\n", avail - floor }
    END { if (!seen) exit 1 }' ||
    refuse "the store would keep less than $MIN_FREE free with this upload ($1 bytes): free space first"
}

last_bytes() { # the size of HOST's largest newest backup (of any database): what a streamed upload may need
  for d in "$ROOT/$1"/*/; do
    newest=$(catalog "$1" "$(basename "$d")" | tail -n 1 | cut -d' ' -f2)
    [ -z "$newest" ] || sed -n 's/^{[^{]*"bytes":\([0-9]*\).*/\1/p' "$d$newest/store.json" 2>/dev/null  # (the store's own count)
  done | sort -n | tail -n 1
}

# --- the upload account (forced command of one host's key) --------------------------------------------------------
# receive UPLOAD NAME BYTES: a file from stdin into UPLOAD (BYTES '-': a stream, left in .partial until the commit)
receive() {
  names_ok "$1" "$2"
  # (a shared lock on the host's upload area for the whole transfer: a discard waits until it ended, then removes the
  # upload; without it a transfer still starting after its client was killed made the upload's folder again)
  exec 7< "$up" && flock -s -w 60 7 || die "the upload area of $host is locked"

  case "$3" in -) need=$(last_bytes "$host") || quit ;; '' | *[!0-9]*) die "bad size '$3'" ;; *) need=$3 ;; esac
  max=$(room "$need") || quit; [ "$3" = - ] || max=$3  # never more than declared, nor than the disk can spare
  dir="$up/$1"
  [ ! -e "$dir/$2" ] || die "$1/$2 was uploaded already"
  [ ! -L "$dir" ] && [ ! -L "$dir/.partial" ] && [ ! -L "$dir/.partial/$2" ] || die "$1/$2: not a plain file"
  [ -d "$dir/.partial" ] || mkdir -p "$dir/.partial"  # (not a link: checked above)
  head -c "$max" > "$dir/.partial/$2" || die "$1/$2: the write failed"
  [ "$3" != - ] || return 0
  got=$(stat -c %s "$dir/.partial/$2")
  [ "$got" = "$3" ] || die "$1/$2: $got of $3 bytes arrived; the next run resumes from them"
  mv "$dir/.partial/$2" "$dir/$2"
}

client() {
  host=$1; shift
  name_ok "$host" || die "bad host '$host'"
  up="$ROOT/incoming/$host"
  [ -d "$up" ] || die "no upload area for $host"
  case "${1:-}" in
    put) [ $# -eq 4 ] || die "usage: put UPLOAD NAME BYTES"; receive "$2" "$3" "$4" ;;
    rsync)
      max=$(room 0) || quit
      ulimit -f "$((max / 512))"  # no file larger than the disk can spare
      exec rrsync -wo -no-del -munge -no-lock "$up" ;;
    commit) # commit UPLOAD DB [NAME BYTES]...: the last small files first (on stdin, one after the other), in the same call
      [ $# -ge 3 ] && [ $((($# - 3) % 2)) -eq 0 ] || die "usage: commit UPLOAD DB [NAME BYTES]..."
      names_ok "$2" "$3"
      u=$2 d=$3; shift 3
      while [ $# -gt 0 ]; do [ "$2" != - ] || die "bad size '-'"; receive "$u" "$1" "$2"; shift 2; done
      exec sudo -n "$0" commit "$host" "$u" "$d" < /dev/null ;;
    discard) [ $# -eq 2 ] || die "usage: discard UPLOAD"; names_ok "$2"; exec 7< "$up" && flock -x -w 60 7 && rm -rf "${up:?}/$2" ;;
    last)
      [ $# -eq 2 ] || die "usage: last DB"; names_ok "$2"
      newest=$(catalog "$host" "$2" | tail -n 1 | cut -d' ' -f2)
      [ -z "$newest" ] || tr -d '\n' < "$ROOT/$host/$2/$newest/store.json"; echo ;;
    *) die "refused: this key may only add backups of $host (put, rsync, commit, discard an upload, last)" ;;
  esac
}

# --- a restoring host's read key: only the backups of the hosts it restores --------------------------------------
reader() {
  allowed=",$1,"; shift
  [ $# -ge 4 ] || die "refused: this key may only read backups (files HOST DB ID, get HOST DB ID FILE [OFFSET])"
  names_ok "$2" "$3" "$4"
  case "$allowed" in *",$2,"*) ;; *) die "refused: this key may not read backups of $2" ;; esac
  b="$ROOT/$2/$3/$4"; [ -d "$b/data" ] && b="$b/data"
  [ -f "$b/SHA256SUMS" ] && [ ! -L "$b" ] || die "no backup $2/$3/$4"
  case "$1" in
    files) [ $# -eq 4 ] || die "usage: files HOST DB ID"; cat "$b/SHA256SUMS" ;;
    get)
      [ $# -ge 5 ] && [ $# -le 6 ] || die "usage: get HOST DB ID FILE [OFFSET]"
      case "$5" in dump/*) names_ok "${5#dump/}" ;; *) names_ok "$5" ;; esac  # (a legacy directory-format dump)
      off=${6:-0}
      case "$off" in '' | *[!0-9]*) die "bad offset '$off'" ;; esac
      awk -v n="$5" '$2 == n { f = 1 } END { exit !f }' "$b/SHA256SUMS" || die "no file $5 in $2/$3/$4"
      tail -c +"$((off + 1))" "$b/$5" ;;
    *) die "refused: unknown verb '$1'" ;;
  esac
}

# --- root ----------------------------------------------------------------------------------------------------------
# commit HOST UPLOAD DB: the upload leaves the upload account's reach, then is checked (plain files only, the manifest's
# one shape naming HOST and DB, every checksum, every data file encrypted), given the store's id and time, written with
# fsync and renamed into place. A checksum that fails puts the upload back, for the next run to resume.
commit() {
  host=$1 upload=$2 db=$3
  names_ok "$host" "$upload" "$db"
  # one commit of a host at a time (uploads never take this lock: a transfer that hangs cannot stall a commit)
  exec 8< "$LOCKS/$host" || die "no lock for $host (run ironclad apply)"
  flock -x -w 300 8 || die "another commit of $host still holds its lock"
  src="$ROOT/incoming/$host/$upload"
  # the same upload committed before (its answer was lost): said again. Another upload that reuses the name is not it.
  # (one grep for every record, whatever the number of backups; the upload's sums read only when a record names it)
  named=$(grep -lF "\"upload\":\"$upload\"" "$ROOT/$host/$db"/*/store.json 2> /dev/null || true)
  if [ -n "$named" ]; then
    sent=''; [ ! -f "$src/SHA256SUMS" ] || [ -L "$src" ] || [ -L "$src/SHA256SUMS" ] || sent=$(sums "$src/SHA256SUMS" | cut -d' ' -f1)
    while IFS= read -r s; do
      if [ -f "$s" ] && { [ ! -e "$src" ] || grep -qF "\"sums\":\"$sent\"" "$s"; }; then
        [ ! -e "$src" ] || rm -rf "$src"
        s=${s%/store.json}; printf 'committed %s (already)\n' "${s##*/}"; return 0
      fi
    done <<NAMED
$named
NAMED
  fi
  [ -d "$src" ] || die "no upload named $upload"
  mkdir -p "$ROOT/.staging" && chmod 700 "$ROOT/.staging"
  work="$ROOT/.staging/$host.$upload.$$"
  mv "$src" "$work" || die "cannot take $upload"
  [ -d "$work" ] && [ ! -L "$work" ] || { rm -f "$work"; refuse "$upload is not a folder"; }
  chown -R root:root "$work" && chmod -R u+rwX,go-rwx "$work" || die "cannot take $upload"
  # no new file can appear in it now (root's, 0700); a writer that still holds one of its files open (a transfer of a
  # stopped run, or one kept open on purpose) is ended, so nothing changes after the checks below
  # (only the upload account's processes are looked at: /proc/PID belongs to the process's user, as before)
  # (find fails when a process ends while it looks: never a reason to stop here)
  uploaders=$(find /proc -mindepth 1 -maxdepth 1 -name '[0-9]*' -user "$UPLOADER" -printf '%p/fd\n' 2> /dev/null || true)
  if [ -n "$uploaders" ]; then
    # shellcheck disable=SC2086  # /proc/PID/fd paths, split on purpose
    for pid in $(find $uploaders -lname "$work/*" -printf '%h\n' 2> /dev/null | cut -d/ -f3 | sort -u); do
      [ "$(stat -c %U "/proc/$pid" 2> /dev/null)" = "$UPLOADER" ] || continue
      kill -KILL "$pid" 2> /dev/null || true  # (it may have ended on its own since it was seen: not a failure)
      killed="${killed:-} $pid"
    done
    # a write under way when the signal came still lands: the checks start once no killed writer holds a file of it
    held() { for p in ${killed:-}; do find "/proc/$p/fd" -lname "$work/*" 2> /dev/null || true; done | grep -q .; }
    n=0; while [ "$n" -lt 100 ] && held; do sleep 0.05; n=$((n + 1)); done
  fi
  cd "$work" || die "cannot enter $upload"
  back() { # (never into a link planted meanwhile: -T -n renames onto nothing that exists, or not at all)
    cd / && chown -R "$UPLOADER:$UGROUP" "$work" && mv -T -n "$work" "$src" && [ ! -e "$work" ] || { rm -rf "$work"; die "$upload: $* (and it could not be put back: it is dropped)"; }
    die "$upload: $*"
  }
  drop() { cd / && rm -rf "$work"; refuse "$upload: $*"; }
  bad=$(find . -mindepth 1 \( \( ! -type f ! -type d \) -o \( -type d ! -path ./.partial \) -o \( -type f -links +1 \) \) -print | head -n 3 | tr '\n' ' ')
  [ -z "$bad" ] || drop "holds something other than plain files: $bad"
  [ -f SHA256SUMS ] && [ -f manifest.json ] || back "incomplete (no SHA256SUMS or manifest.json); it stays for the next run"
  while read -r _ f; do
    if name_ok "$f" && [ ! -e "$f" ] && [ -f ".partial/$f" ]; then mv ".partial/$f" "$f"; fi
  done < SHA256SUMS
  # shellcheck disable=SC2046  # wc's two numbers: its lines, its bytes
  set -- $(wc -lc < manifest.json)
  [ "${2:-65537}" -le 65536 ] && [ "${1:-2}" -le 1 ] && grep -Eq "$MANIFEST_RE" manifest.json ||
    drop "manifest.json is not a manifest (schemas/manifest.schema.json)"
  said=$(sed 's/^{"format":2,"host":"\([^"]*\)","database":"\([^"]*\)".*/\1 \2/' manifest.json)
  [ "$said" = "$host $db" ] || drop "the manifest names $said; this key belongs to $host (database $db)"
  # (SHA256SUMS names exactly the files sent before root reads any file it names)
  listed=$(awk '{ print $2 }' SHA256SUMS | sort) present=$(find . -mindepth 1 -maxdepth 1 ! -name SHA256SUMS ! -name .partial -printf '%f\n' | sort)
  [ "$listed" = "$present" ] || { [ -n "$(ls -A .partial 2> /dev/null)" ] && back "files still arriving; it stays for the next run"; drop "SHA256SUMS does not list exactly the files sent"; }
  sums_check SHA256SUMS > .check 2>&1 || { rm -f .check; back "checksums do not match what was sent; it stays for the next run"; }
  rm -rf .check .partial
  described=$(sed 's/.*"files":{\(.*\)}}$/\1/; s/,/\n/g; s/^"\([^"]*\)":"\([^"]*\)"$/\2  \1/mg' manifest.json | sort)
  [ "$described" = "$(grep -v '  manifest.json$' SHA256SUMS | sort)" ] || drop "the manifest's files are not the files sent"
  for f in *.age; do [ "$(head -c 21 "$f")" = age-encryption.org/v1 ] || drop "$f is not encrypted"; done
  read -r now stamp received <<NOW
$(date -u +'%s %Y%m%dT%H%M%SZ %Y-%m-%dT%H:%M:%SZ')
NOW
  id="$stamp-$host-$db"; n=1
  while [ -e "$ROOT/$host/$db/$id" ]; do n=$((n + 1)); id="$stamp-$host-$db-$n"; done
  bytes=$(stat -c %s -- * | awk '{ s += $1 } END { print s + 0 }')
  cd / || die "cd"
  new="$ROOT/.staging/$id.$$"
  mkdir "$new" && mv "$work" "$new/data" || die "cannot assemble $id"
  listsum=$(sums "$new/data/SHA256SUMS") || die "cannot read $id"
  m='' && { IFS= read -r m < "$new/data/manifest.json" || [ -n "$m" ]; } || die "cannot read $id"  # (one line, checked above)
  printf '{"id":"%s","host":"%s","database":"%s","upload":"%s","sums":"%s","received_at":"%s","received_epoch":%s,"bytes":%s,"manifest":%s}\n' \
    "$id" "$host" "$db" "$upload" "${listsum%% *}" "$received" "$now" "$bytes" "$m" > "$new/store.json"
  chgrp -R "$UGROUP" "$new" && find "$new" \( -type d -exec chmod 750 {} + \) -o \( -type f -exec chmod 440 {} + \) || die "cannot seal $id"
  install -d -o root -g "$UGROUP" -m 750 "$ROOT/$host" "$ROOT/$host/$db"
  find "$new" -exec sync {} + && mv "$new" "$ROOT/$host/$db/$id" && sync "$ROOT/$host/$db" "$ROOT/$host" || die "cannot put $id in place"
  printf 'committed %s\n' "$id"
}

case "${1:-}" in
  client | reader)
    who=$1 arg=${2:-}
    [ -n "${SSH_ORIGINAL_COMMAND:-}" ] || die "$who: no command"
    set -f  # the words of SSH_ORIGINAL_COMMAND are split, never globbed
    # shellcheck disable=SC2086
    set -- $SSH_ORIGINAL_COMMAND
    set +f
    # a restoring host's read key also reads the continuous archive of the hosts it restores (src/pitr/store.sh)
    case "$who ${1:-}" in 'reader pitr-'*) exec /usr/local/sbin/ironclad-pitr reader "$arg" "$@" ;; esac
    "$who" "$arg" "$@" ;;
  commit | prune | health | record)
    is_root || die "$1 is for root on the store (a backup key commits through its forced command)"
    UGROUP=$(id -gn "$UPLOADER" 2> /dev/null || echo "$UPLOADER")
    verb=$1; shift
    case "$verb" in
      commit) [ $# -eq 3 ] || die "usage: commit HOST UPLOAD DB"; commit "$@" ;;
      prune) [ $# -ge 4 ] || die "usage: prune HOST DAILY WEEKLY MONTHLY [--dry-run]"; prune "$@" ;;
      health) health "$@" ;;
      record) [ $# -eq 3 ] || die "usage: record HOST DB ID < result.json"; record "$@" ;;
    esac ;;
  *) die "usage: ironclad-store client HOST | reader HOST,... (forced commands) | commit | prune | health | record (root)" ;;
esac
