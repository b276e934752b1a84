#!/bin/sh
# ironclad images repair, run where the replica lives: each file comes from the source into a temp name in its own
# directory (.ironclad-ALGO-HASH.part, kept across runs so that a copy resumes), is fsync'd, checksummed against the
# hash the source's scan recorded, given the source's mtime and permission bits, and renamed into place. A file
# already at that name is first hard-linked into the quarantine (so the name always holds one whole file). Nothing is
# ever deleted.
# Needs only sh, coreutils and the hash tool; sent by ironclad as `sh -c SCRIPT ironclad-repair op=... [key=value]`.
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
# op=apply   root=DST algo=A quarantine=DIR fetch=CMD [progress=FILE]   (DIR relative to root)
#            each file's bytes from `sh -c "$fetch" fetch OFFSET` (path on its stdin, bytes from OFFSET, 1-based)
# op=receive root=DST algo=A quarantine=DIR offset=N task=LINE   one task; stdin is its bytes from N
#            (0-based); commits the file once it is whole
# op=prune   root=DST days=N                    removes quarantine runs (named by their UTC time) and unfinished
#                                               copies (.ironclad-*.part) older than N days
# exit: 0 done (each task's fate in the answer), 64 bad arguments, 66 no such directory, 75 another repair running.
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
cd -- "$root" 2>/dev/null || { printf 'no such directory: %s\n' "$root" >&2; exit 66; }
absroot=$(pwd -P)

if [ "$op" = prune ]; then
  case $days in '' | *[!0-9]*) echo "ironclad-repair: days must be a number" >&2; exit 64 ;; esac
  # temp files of copies never finished (their source changed since) go after as many days
  parts=$(find . -type f -name '.ironclad-*.part' ! -path './.ironclad-quarantine/*' -mtime +"$days" -print0 -delete | tr -dc '\000' | wc -c)
  [ "$parts" -eq 0 ] || printf 'removed_parts\t%s\n' "$parts"
  [ -d .ironclad-quarantine ] || exit 0
  cutoff=$(date -u -d "@$(($(date +%s) - days * 86400))" +%Y%m%d%H%M%S)
  for run in .ironclad-quarantine/*; do
    name=${run#.ironclad-quarantine/}
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

say() {
  [ -z "$progress" ] && return 0
  printf 'copying %s %s %s %s\n' "$@" >"$progress.tmp" && mv -f "$progress.tmp" "$progress"
}
answer() { printf '%s\t%s\t%s\t%s\n' "$i" "$1" "$2" "$3"; }

# True when directory $1 (relative to the root) resolves inside the tree.
inside() {
  r=$(cd -- "./$1" 2>/dev/null && pwd -P) || return 1
  case $r/ in "$absroot"/*) return 0 ;; esac
  return 1
}

# Check the task's path and set dir, tmp and target; with $1 = create, make its directory (inside the tree only).
place() {
  case $p in '' | /*) why='absolute or empty path'; return 1 ;; esac
  case /$p/ in */../* | */./* | *//*) why="a '.', '..' or empty component"; return 1 ;; esac
  case $p in .ironclad-quarantine/* | .ironclad-quarantine) why='inside the quarantine'; return 1 ;; esac
  case $p in */*) dir=${p%/*} ;; *) dir=. ;; esac
  d=$dir
  while [ ! -e "./$d" ] && [ ! -L "./$d" ]; do case $d in */*) d=${d%/*} ;; *) d=. ;; esac; done
  inside "$d" || { why='its directory leads out of the tree'; return 1; }
  if [ "${1:-}" = create ] && [ ! -d "./$dir" ]; then
    mkdir -p -- "./$dir" 2>/dev/null || { why='cannot create its directory'; return 1; }
    inside "$dir" || { why='its directory leads out of the tree'; return 1; }
  fi
  case $hash in '' | *[!0-9a-f]*) why='bad hash'; return 1 ;; esac
  tmp=./$dir/.ironclad-$algo-$(printf '%.32s' "$hash").part target=./$p
}

size_of() { if [ -f "$1" ]; then stat -c %s -- "$1"; else echo 0; fi; }

# The temp file is whole: check, date and fsync it, keep what the name holds in the quarantine, rename it there.
commit() {
  got=$($hasher <"$tmp" 2>/dev/null) || { answer failed 0 'could not hash the copy'; return; }
  got=${got%% *}
  if [ "$got" != "$hash" ]; then
    rm -f -- "$tmp"
    answer failed 0 "the copy's $algo is not the one the source's scan recorded: not installed (the source changed or rotted since; compare again)"
    return
  fi
  if ! { chmod -- "$perm" "$tmp" && touch -c -m -d "@$mtime" -- "$tmp" && sync -- "$tmp"; }; then answer failed 0 'could not set the mode, date or fsync the copy'; return; fi
  status=copied
  if [ -e "$target" ] || [ -L "$target" ]; then
    if [ -d "$target" ] && [ ! -L "$target" ]; then answer failed 0 'a directory is in the way (left as it is)'; return; fi
    [ -n "$quarantine" ] || { answer failed 0 'no quarantine given'; return; }
    q=$quarantine/$dir
    if ! { mkdir -p -- "$q" && inside "$q"; }; then answer failed 0 'cannot create the quarantine directory'; return; fi
    # shellcheck disable=SC2015 # a failed ln falls back to mv (a moment without the file), never to a loss
    ln -P -- "$target" "$quarantine/$p" 2>/dev/null || mv -T -- "$target" "$quarantine/$p" || { answer failed 0 'cannot keep the old file in the quarantine'; return; }
    sync -- "$q"
    status=replaced
  fi
  if ! { mv -f -T -- "$tmp" "$target" && sync -- "./$dir"; }; then answer failed 0 'could not rename the copy into place'; return; fi
  answer "$status" "$size" ''
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ironclad-repair.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
# One repair of a tree at a time (a copy streamed through the controller waits its turn for each piece).
if command -v flock >/dev/null 2>&1 && mkdir -p .ironclad-quarantine && inside .ironclad-quarantine; then
  exec 9>.ironclad-quarantine/.lock
  if [ "$op" = receive ]; then wait_s=60; else wait_s=0; fi
  flock -w "$wait_s" 9 || { echo "another images repair of this tree is running" >&2; exit 75; }
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
  have=$(size_of "$tmp")
  if [ "$have" -gt "$size" ]; then : >"$tmp"; have=0; fi
  [ "$op" = part ] || (umask 077 && : >>"$tmp") # an empty file has nothing to fetch, but a temp file all the same
  case $op in
    part) answer have "$have" ''; continue ;;
    receive)
      if [ "$have" -ne "$offset" ]; then answer have "$have" 'offset differs'; continue; fi
      cat <&3 >>"$tmp"
      have=$(size_of "$tmp") ;;
    apply)
      rc=0
      : >"$work/fetch.err"
      if [ "$have" -lt "$size" ]; then
        if [ "$size" -ge 67108864 ] && [ -n "$progress" ]; then # a long copy: progress from the temp file's size
          printf '%s' "$p" | sh -c "$fetch" fetch $((have + 1)) >>"$tmp" 2>>"$work/fetch.err" &
          pid=$!
          while kill -0 "$pid" 2>/dev/null; do say "$done_files" "$total" $((done_bytes + $(size_of "$tmp"))) "$total_bytes"; sleep 1; done
          wait "$pid" || rc=$?
        else
          printf '%s' "$p" | sh -c "$fetch" fetch $((have + 1)) >>"$tmp" 2>>"$work/fetch.err" || rc=$?
        fi
      fi
      case $rc in
        65) answer failed 0 'the source refused the path (it leads out of its tree)'; continue ;;
        66) answer failed 0 'no longer a regular file on the source'; continue ;;
      esac
      have=$(size_of "$tmp") ;;
    *) echo "ironclad-repair: unknown op: $op" >&2; exit 64 ;;
  esac
  if [ "$have" -lt "$size" ]; then answer partial "$have" "the copy stopped early$([ -s "$work/fetch.err" ] && printf ': %s' "$(tail -n 1 "$work/fetch.err" | tr -d '\t')") (kept; the next repair resumes it)"
  elif [ "$have" -gt "$size" ]; then rm -f -- "$tmp"; answer failed 0 'the source grew since it was scanned (compare again)'
  else commit; fi
  done_files=$((done_files + 1)) done_bytes=$((done_bytes + size))
  say "$done_files" "$total" "$done_bytes" "$total_bytes"
done <"$work/lines"
[ -z "$progress" ] || rm -f "$progress"
