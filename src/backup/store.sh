# --- body: the backup store's forced command (POSIX sh). ROOT is rendered above by `ironclad apply`. ---
# The database hosts' keys run only this: they may upload into incoming/ (a new file's bytes on stdin, or rrsync:
# write-only, no deletes),
# commit a complete upload (checksums verified, renamed into place, never over an existing backup), and read the
# last good manifest. Nothing here deletes or overwrites a committed backup. Root runs `prune` for retention.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C

die() { printf 'ironclad-store: %s\n' "$*" >&2; exit 1; }
name_ok() { case "$1" in '' | *[!A-Za-z0-9._-]* | .*) return 1 ;; *) return 0 ;; esac; }

backups() { # committed backup ids in a folder, oldest first
  for b in "$1"/[0-9]*T[0-9]*Z-*; do [ -d "$b" ] && basename "$b"; done | sort
}

commit() {
  host=$1 db=$2 id=$3
  for v in "$host" "$db" "$id"; do name_ok "$v" || die "bad name '$v'"; done
  src="$ROOT/incoming/$id"
  dst="$ROOT/$host/$db/$id"
  [ -d "$src" ] || die "no upload named $id"
  if [ -e "$dst" ]; then
    # the same backup sent again (its commit went through but the job never heard): drop the copy, keep the backup
    if [ -f "$src/SHA256SUMS" ] && [ -f "$dst/SHA256SUMS" ] && cmp -s "$src/SHA256SUMS" "$dst/SHA256SUMS"; then
      rm -rf "$src"
      printf 'committed %s (already)\n' "$id"
      return 0
    fi
    die "backup $id already exists; a committed backup is never overwritten"
  fi
  if [ ! -f "$src/SHA256SUMS" ] || [ ! -f "$src/manifest.json" ]; then die "$id is incomplete (no SHA256SUMS or manifest.json)"; fi
  # a file streamed while it was written (put with no size) waits in the partial area: checked below with the others
  # (a short one fails the check; rsync then resumes it)
  while read -r _ f; do
    if name_ok "$f" && [ ! -e "$src/$f" ] && [ -f "$src/.partial/$f" ]; then mv "$src/.partial/$f" "$src/$f"; fi
  done < "$src/SHA256SUMS"
  (cd "$src" && sums_check SHA256SUMS) >&2 || die "$id: checksums do not match what was sent; the upload stays in incoming/ and is retried"
  if ! grep -q "\"host\":\"$host\"" "$src/manifest.json" || ! grep -q "\"database\":\"$db\"" "$src/manifest.json"; then
    die "$id: manifest names another host or database"
  fi
  rm -rf "$src/.partial"
  mkdir -p "$ROOT/$host/$db"
  mv "$src" "$dst" || die "cannot move $id into place"
  chmod -R a-w "$dst"
  printf 'committed %s\n' "$id"
}

# put ID NAME BYTES: one file of a new upload, from stdin. It is written where rsync keeps a partial file and moved into
# place only when all its bytes came; an interrupted one stays there, and the next run's rsync resumes from it.
# BYTES '-': a file sent while it is being written, its size not known yet: it stays there until the commit checks it.
put() {
  id=$1 name=$2 bytes=$3
  for v in "$id" "$name"; do name_ok "$v" || die "bad name '$v'"; done
  case "$bytes" in -) ;; '' | *[!0-9]*) die "bad size '$bytes'" ;; esac
  dir="$ROOT/incoming/$id"
  [ ! -e "$dir/$name" ] || die "$id/$name was uploaded already"
  mkdir -p "$dir/.partial"
  cat > "$dir/.partial/$name" || die "$id/$name: the write failed"
  [ "$bytes" != - ] || return 0
  got=$(stat -c %s "$dir/.partial/$name")
  [ "$got" = "$bytes" ] || die "$id/$name: $got of $bytes bytes arrived; the next run resumes from them"
  mv "$dir/.partial/$name" "$dir/$name"
}

# discard ID: an upload the job refused or could not finish leaves incoming/ (never a committed backup: those are
# elsewhere, and only root's prune removes them)
discard() {
  name_ok "$1" || die "bad name '$1'"
  [ -d "$ROOT/incoming/$1" ] || return 0
  rm -rf "$ROOT/incoming/$1"
}

last() {
  host=$1 db=$2
  name_ok "$host" || die "bad name '$host'"
  name_ok "$db" || die "bad name '$db'"
  newest=$(backups "$ROOT/$host/$db" | tail -n 1)
  [ -n "$newest" ] || exit 0
  tr -d '\n' < "$ROOT/$host/$db/$newest/manifest.json"
  echo
}

# keep the newest backup of each of the last D days, W weeks and M months; remove the rest (run by root only)
prune() {
  host=$1 daily=$2 weekly=$3 monthly=$4 dry=${5:-}
  name_ok "$host" || die "bad name '$host'"
  for dbdir in "$ROOT/$host"/*/; do
    [ -d "$dbdir" ] || continue
    backups "$dbdir" | sort -r | awk -v d="$daily" -v w="$weekly" -v m="$monthly" '
      function week(id,   cmd, out) { cmd = "date -u -d " substr(id, 1, 8) " +%G%V"; cmd | getline out; close(cmd); return out }
      {
        day = substr($0, 1, 8); mon = substr($0, 1, 6); wk = week($0); keep = 0
        if (!(day in days) && nd < d) { days[day] = 1; nd++; keep = 1 }
        if (!(wk in weeks) && nw < w) { weeks[wk] = 1; nw++; keep = 1 }
        if (!(mon in months) && nm < m) { months[mon] = 1; nm++; keep = 1 }
        if (!keep) print
      }' | while read -r old; do
        if [ -n "$dry" ]; then printf 'would remove %s%s\n' "$dbdir" "$old"
        else chmod -R u+w "$dbdir$old" && rm -rf "$dbdir$old" && printf 'removed %s%s\n' "$dbdir" "$old"; fi
      done
  done
  # uploads never committed (a job stopped for good, or its store unreachable since) are removed after a week
  find "$ROOT/incoming" -mindepth 1 -maxdepth 1 -mtime +7 2>/dev/null | while read -r stale; do
    if [ -n "$dry" ]; then printf 'would remove %s (never committed)\n' "$stale"
    else rm -rf "$stale" && printf 'removed %s (never committed)\n' "$stale"; fi
  done
}

if [ -n "${SSH_ORIGINAL_COMMAND:-}" ]; then
  set -f  # the words of SSH_ORIGINAL_COMMAND are split, never globbed
  # shellcheck disable=SC2086
  set -- $SSH_ORIGINAL_COMMAND
  set +f
fi
case "${1:-}" in
  rsync) exec rrsync -wo -no-del "$ROOT/incoming" ;;
  put) [ $# -eq 4 ] || die "usage: put ID NAME BYTES"; put "$2" "$3" "$4" ;;
  commit) [ $# -eq 4 ] || die "usage: commit HOST DB ID"; commit "$2" "$3" "$4" ;;
  discard) [ $# -eq 2 ] || die "usage: discard ID"; discard "$2" ;;
  last) [ $# -eq 3 ] || die "usage: last HOST DB"; last "$2" "$3" ;;
  prune)
    [ -z "${SSH_ORIGINAL_COMMAND:-}" ] || die "prune is for root on the store itself"
    [ $# -ge 5 ] || die "usage: prune HOST DAILY WEEKLY MONTHLY [--dry-run]"; prune "$2" "$3" "$4" "$5" "${6:-}" ;;
  *) die "refused: '${SSH_ORIGINAL_COMMAND:-$*}': this key may only add backups (put or rsync upload, commit, last, discard an upload)" ;;
esac
