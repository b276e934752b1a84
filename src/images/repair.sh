#!/bin/sh
# ironclad images repair, run where the replica lives: each file comes from the source into a temp file
# (ALGO-HASH.part, kept across runs so that a copy resumes), is fsync'd, checksummed against the hash the source's scan
# recorded, given the source's mtime and permission bits, and renamed into place. A file already at that name is first
# hard-linked into the quarantine (so the name always holds one whole file). Nothing is ever deleted.
# Needs only sh, coreutils, Linux's /proc and the hash tool; sent by ironclad as `sh -c SCRIPT ironclad-repair op=...`.
#
# Others may write the tree (the repair runs as root): no name they can reach is written, truncated or chmod'ed
# through. Temp files live in ROOT/.ironclad-quarantine/.parts, a directory of the repairing user's own, 0700 (made so,
# else refused: exit 73), held open once checked and reached only through that descriptor (/proc/self/fd/8), so
# a link, FIFO or hard link planted anywhere, or the directory swapped afterwards, is never followed. The directories a
# copy goes to and its old file goes from are checked as entered (inside the tree) and held open the same way for the
# rename and the hard link (neither follows a link). The lock is taken on that directory, not on a file of the tree;
# the progress file is in a directory of the user's own (root: /var/lib/ironclad/images/run, 0700).
#
# Tasks come on stdin, a line each: KIND<TAB>HASH<TAB>SIZE<TAB>MTIME<TAB>MODE<TAB>PATH (KIND copy|replace; MODE the
# source file's, octal, '-' when unknown; PATH relative to root, written for printf: every byte but [A-Za-z0-9._/-] as
# \NNN octal, so any name fits on a line). Modes: a temp file is made 0600 (a private file is never readable by others
# while it travels); the copy gets the source's permission bits (rwx for owner, group, others) but never its setuid,
# setgid or sticky bit (a replica is a store of files, not a place to run them with another's rights), and stays 0600
# when the mode is unknown. Owner and group are the repairing user's; directories it makes get the umask's mode.
# No path is trusted: absolute paths, '.', '..' or empty components, and directories that resolve outside the tree
# (a symlink) are refused. Answers are lines INDEX<TAB>STATUS<TAB>BYTES<TAB>DETAIL
# (INDEX: the task's, from 0; STATUS copied|replaced|failed|partial|have); paths are never echoed.
#
# op=part    root=DST algo=A                    per task: INDEX have BYTES_IN_ITS_TEMP_FILE
# op=apply   root=DST algo=A quarantine=DIR fetch=CMD [progress=NAME]   (DIR relative to root; NAME a bare file name)
#            each file's bytes from `sh -c "$fetch" fetch OFFSET` (path on its stdin, bytes from OFFSET, 1-based)
# op=receive root=DST algo=A quarantine=DIR offset=N task=LINE   one task; stdin is its bytes from N
#            (0-based); commits the file once it is whole
# op=prune   root=DST days=N                    removes quarantine runs (named by their UTC time) and unfinished
#                                               copies older than N days
# exit: 0 done (each task's fate in the answer), 64 bad arguments, 66 no such directory, 73 no private temp directory,
# 75 another repair running.
set -eu
LC_ALL=C
export LC_ALL
tab=$(printf '\t')
op='' root='' algo=sha256 quarantine='' fetch='' progress='' offset=0 task='' days=30
for arg do
  case $arg in
    op=*) op=${arg#op=} ;;
    root=*) root=${arg#root=} ;;
    algo=*) algo=${arg#algo=} ;;
    quarantine=*) quarantine=${arg#quarantine=} ;;
    fetch=*) fetch=${arg#fetch=} ;;
    progress=*) progress=${arg#progress=} ;;
    offset=*) offset=${arg#offset=} ;;
    task=*) task=${arg#task=} ;;
    days=*) days=${arg#days=} ;;
    *) echo "ironclad-repair: unknown argument: $arg" >&2; exit 64 ;;
  esac
done
case $progress in *[!A-Za-z0-9._-]* | .*) echo "ironclad-repair: progress= is a bare file name" >&2; exit 64 ;; esac
cd -- "$root" 2>/dev/null || { printf 'no such directory: %s\n' "$root" >&2; exit 66; }
absroot=$(pwd -P)
me=$(id -u)

# True when directory $1 (relative to the root) resolves inside the tree.
inside() {
  r=$(cd -- "./$1" 2>/dev/null && pwd -P) || return 1
  case $r/ in "$absroot"/*) return 0 ;; esac
  return 1
}

# Enter directory $1 (relative to the root) and check where the shell now is: inside the tree. A directory entered
# cannot be swapped under us afterwards; the caller holds it open (exec N<.) and goes back to the root.
enter() {
  cd -- "$absroot" || return 1
  cd -- "./$1" 2>/dev/null || return 1
  case $(pwd -P)/ in "$absroot"/*) return 0 ;; esac
  cd -- "$absroot"
  return 1
}

# The private directory of temp files, entered: made 0700 if absent; refused (73) unless, as entered, it is a
# directory of the tree owned by this user, 0700 (only this user can put a name in it).
private_parts() {
  if [ ! -e .ironclad-quarantine/.parts ] && [ ! -L .ironclad-quarantine/.parts ]; then
    (umask 077 && mkdir -p .ironclad-quarantine && inside .ironclad-quarantine && mkdir .ironclad-quarantine/.parts) 2>/dev/null || true
  fi
  if enter .ironclad-quarantine/.parts && [ "$(stat -c '%u %a %F' .)" = "$me 700 directory" ]; then return 0; fi
  cd -- "$absroot"
  printf 'ironclad-repair: the private directory of temp files %s/.ironclad-quarantine/.parts is not a directory of the tree owned by uid %s with mode 0700 (a writer of the tree may have made it): nothing was written; look at it, remove it, and repair again\n' "$absroot" "$me" >&2
  exit 73
}

if [ "$op" = prune ]; then
  case $days in '' | *[!0-9]* | 0?*) echo "ironclad-repair: days must be a number" >&2; exit 64 ;; esac
  # temp files of copies never finished (their source changed since) go after as many days; .ironclad-*.part in the
  # tree are those of older versions (regular files only: find never follows a link)
  parts=$(find . -type f -name '.ironclad-*.part' ! -path './.ironclad-quarantine/*' -mtime +"$days" -print0 -delete | tr -dc '\000' | wc -c)
  if [ -d .ironclad-quarantine/.parts ] && [ ! -L .ironclad-quarantine/.parts ]; then
    if enter .ironclad-quarantine/.parts && [ "$(stat -c '%u %a' .)" = "$me 700" ]; then
      parts=$((parts + $(find . -maxdepth 1 -type f -name '*.part' -mtime +"$days" -print0 -delete | tr -dc '\000' | wc -c)))
    fi
    cd -- "$absroot"
  fi
  [ "$parts" -eq 0 ] || printf 'removed_parts\t%s\n' "$parts"
  [ -d .ironclad-quarantine ] || exit 0
  # entered and checked inside the tree: a quarantine swapped for a link out of it is not pruned (nothing removed there)
  enter .ironclad-quarantine || { echo "ironclad-repair: the quarantine leads out of the tree: not pruned" >&2; exit 0; }
  cutoff=$(date -u -d "@$(($(date +%s) - days * 86400))" +%Y%m%d%H%M%S)
  for run in ./*; do
    name=${run#./}
    case $name in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z*) ;; *) continue ;; esac
    stamp=$(printf '%s' "$name" | cut -c1-8,10-15)
    if [ "$stamp" -lt "$cutoff" ]; then rm -rf -- "$run" && printf 'removed\t%s\n' "$name"; fi
  done
  exit 0
fi

case $algo in
  sha256) if command -v openssl >/dev/null 2>&1; then hasher='openssl dgst -sha256 -r'; else hasher=sha256sum; fi ;;
  blake3) hasher='b3sum --no-mmap --no-names' ;;
  xxh128) hasher='xxhsum -H2' ;;
  crc32) hasher='cksum' ;;
  *) echo "ironclad-repair: unknown algo: $algo" >&2; exit 64 ;;
esac

# The progress file: in root's own directory (or the user's), 0700, never in a directory others write.
rundir=''
if [ -n "$progress" ]; then
  if [ "$me" = 0 ]; then rundir=/var/lib/ironclad/images/run; else rundir=${XDG_RUNTIME_DIR:-${HOME:-/nonexistent}/.cache}/ironclad-run; fi
  (umask 077 && mkdir -p -- "$rundir") 2>/dev/null || true
  if [ -L "$rundir" ] || [ "$(stat -c '%u %a %F' -- "$rundir" 2>/dev/null)" != "$me 700 directory" ]; then rundir='' progress=''; fi
fi
say() {
  [ -z "$progress" ] && return 0
  { printf 'copying %s %s %s %s\n' "$@" >"$rundir/$progress.tmp" && mv -f -- "$rundir/$progress.tmp" "$rundir/$progress"; } 2>/dev/null || true
}
answer() { printf '%s\t%s\t%s\t%s\n' "$i" "$1" "$2" "$3"; }

# Check the task's path and set dir, base and part; with $1 = create, make its directory (inside the tree only).
place() {
  case $p in '' | /*) why='absolute or empty path'; return 1 ;; esac
  case /$p/ in */../* | */./* | *//*) why="a '.', '..' or empty component"; return 1 ;; esac
  case $p in .ironclad-quarantine/* | .ironclad-quarantine) why='inside the quarantine'; return 1 ;; esac
  case $p in */*) dir=${p%/*} ;; *) dir=. ;; esac
  base=${p##*/}
  d=$dir
  while [ ! -e "./$d" ] && [ ! -L "./$d" ]; do case $d in */*) d=${d%/*} ;; *) d=. ;; esac; done
  inside "$d" || { why='its directory leads out of the tree'; return 1; }
  if [ "${1:-}" = create ] && [ ! -d "./$dir" ]; then
    mkdir -p -- "./$dir" 2>/dev/null || { why='cannot create its directory'; return 1; }
    inside "$dir" || { why='its directory leads out of the tree'; return 1; }
  fi
  case $hash in '' | *[!0-9a-f]*) why='bad hash'; return 1 ;; esac
  part=$parts/$algo-$(printf '%.32s' "$hash").part
}

size_of() { if [ -f "$1" ]; then stat -c %s -- "$1"; else echo 0; fi; }

# The temp file is whole: check, date and fsync it, keep what the name holds in the quarantine, rename it there.
# The directories are entered (checked inside the tree) and held open: fd 7 the copy's, fd 6 the quarantine's.
commit() {
  got=$($hasher <"$part" 2>/dev/null) || { answer failed 0 'could not hash the copy'; return; }
  got=${got%% *}
  if [ "$got" != "$hash" ]; then
    rm -f -- "$part"
    answer failed 0 "the copy's $algo is not the one the source's scan recorded: not installed (the source changed or rotted since; compare again)"
    return
  fi
  if ! { chmod -- "$perm" "$part" && touch -c -m -d "@$mtime" -- "$part" && sync -- "$part"; }; then answer failed 0 'could not set the mode, date or fsync the copy'; return; fi
  enter "$dir" || { answer failed 0 'refused: its directory leads out of the tree'; return; }
  exec 7<.
  cd -- "$absroot"
  to=/proc/self/fd/7
  if [ "$(stat -L -c %d -- "$to")" != "$(stat -L -c %d -- "$parts")" ]; then exec 7<&-; answer failed 0 "its directory is on another file system than the tree's root (not supported)"; return; fi
  status=copied
  if [ -e "$to/$base" ] || [ -L "$to/$base" ]; then
    if [ -d "$to/$base" ] && [ ! -L "$to/$base" ]; then exec 7<&-; answer failed 0 'a directory is in the way (left as it is)'; return; fi
    [ -n "$quarantine" ] || { exec 7<&-; answer failed 0 'no quarantine given'; return; }
    if ! { mkdir -p -- "$quarantine/$dir" 2>/dev/null && enter "$quarantine/$dir"; }; then exec 7<&-; answer failed 0 'cannot create the quarantine directory'; return; fi
    exec 6<.
    cd -- "$absroot"
    # shellcheck disable=SC2015 # a failed ln falls back to mv (a moment without the file), never to a loss
    ln -P -- "$to/$base" "/proc/self/fd/6/$base" 2>/dev/null || mv -T -- "$to/$base" "/proc/self/fd/6/$base" || { exec 6<&- 7<&-; answer failed 0 'cannot keep the old file in the quarantine'; return; }
    sync -- /proc/self/fd/6
    exec 6<&-
    status=replaced
  fi
  if ! { mv -f -T -- "$part" "$to/$base" && sync -- "$to"; }; then exec 7<&-; answer failed 0 'could not rename the copy into place'; return; fi
  exec 7<&-
  answer "$status" "$size" ''
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ironclad-repair.XXXXXX")
trap 'rm -rf "$work"; [ -z "$progress" ] || rm -f -- "$rundir/$progress" "$rundir/$progress.tmp"' EXIT
trap 'exit 130' INT TERM HUP
# The private directory of temp files, held open as fd 8 (every temp file is reached through it); one repair of a
# tree at a time, by a lock on that directory (a copy streamed through the controller waits its turn for each piece).
private_parts
exec 8<.
cd -- "$absroot"
parts=/proc/self/fd/8
if command -v flock >/dev/null 2>&1; then
  if [ "$op" = receive ]; then wait_s=60; else wait_s=0; fi
  flock -w "$wait_s" 8 || { echo "another images repair of this tree is running" >&2; exit 75; }
fi
# The loop below reads its tasks from a file; a received file's bytes stay on stdin, kept as fd 3.
exec 3<&0
if [ "$op" = receive ]; then printf '%s\n' "$task" >"$work/lines"; else cat >"$work/lines"; fi

total=0 total_bytes=0
while IFS="$tab" read -r kind hash size mtime _ _; do total=$((total + 1)) total_bytes=$((total_bytes + size)); done <"$work/lines"
i=-1 done_files=0 done_bytes=0
say 0 "$total" 0 "$total_bytes"
while IFS="$tab" read -r kind hash size mtime mode esc; do
  i=$((i + 1))
  # shellcheck disable=SC2059 # the path is written as a printf format of octal escapes (no % can be in it)
  p=$(printf "x${esc}x") # the octal escapes back to bytes; the x's: no leading '-' option, trailing newlines kept
  p=${p#x} p=${p%x}
  case $kind in copy | replace) ;; *) answer failed 0 "unknown task kind"; continue ;; esac
  case $size$mtime in *[!0-9.]*) answer failed 0 'bad size or mtime'; continue ;; esac
  case $mode in [0-7][0-7][0-7]) perm=$mode ;; [0-7][0-7][0-7][0-7]) perm=${mode#?} ;; *) perm=600 ;; esac # setuid, setgid, sticky dropped
  if ! place create; then answer failed 0 "refused: $why"; continue; fi
  have=$(size_of "$part")
  if [ "$have" -gt "$size" ]; then : >"$part"; have=0; fi
  [ "$op" = part ] || (umask 077 && : >>"$part") # an empty file has nothing to fetch, but a temp file all the same
  case $op in
    part) answer have "$have" ''; continue ;;
    receive)
      if [ "$have" -ne "$offset" ]; then answer have "$have" 'offset differs'; continue; fi
      cat <&3 >>"$part"
      have=$(size_of "$part") ;;
    apply)
      rc=0
      : >"$work/fetch.err"
      if [ "$have" -lt "$size" ]; then
        if [ "$size" -ge 67108864 ] && [ -n "$progress" ]; then # a long copy: progress from the temp file's size
          printf '%s' "$p" | sh -c "$fetch" fetch $((have + 1)) >>"$part" 2>>"$work/fetch.err" &
          pid=$!
          while kill -0 "$pid" 2>/dev/null; do say "$done_files" "$total" $((done_bytes + $(size_of "$part"))) "$total_bytes"; sleep 1; done
          wait "$pid" || rc=$?
        else
          printf '%s' "$p" | sh -c "$fetch" fetch $((have + 1)) >>"$part" 2>>"$work/fetch.err" || rc=$?
        fi
      fi
      case $rc in
        65) answer failed 0 'the source refused the path (it leads out of its tree)'; continue ;;
        66) answer failed 0 'no longer a regular file on the source'; continue ;;
      esac
      have=$(size_of "$part") ;;
    *) echo "ironclad-repair: unknown op: $op" >&2; exit 64 ;;
  esac
  if [ "$have" -lt "$size" ]; then answer partial "$have" "the copy stopped early$([ -s "$work/fetch.err" ] && printf ': %s' "$(tail -n 1 "$work/fetch.err" | tr -d '\t')") (kept; the next repair resumes it)"
  elif [ "$have" -gt "$size" ]; then rm -f -- "$part"; answer failed 0 'the source grew since it was scanned (compare again)'
  else commit; fi
  done_files=$((done_files + 1)) done_bytes=$((done_bytes + size))
  say "$done_files" "$total" "$done_bytes" "$total_bytes"
done <"$work/lines"
