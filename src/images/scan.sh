#!/bin/sh
# ironclad images: walk a tree where it lives, hash what the cache cannot vouch for, leave a sorted manifest.
# Needs only what a Debian server has: sh, find, sort, sed, awk (mawk or gawk), xargs, coreutils; no Node.js.
# It is sent by ironclad as `sh -c SCRIPT ironclad-images op=... root=... [key=value ...]`.
#
# Records (manifest and cache) are NUL-terminated, fields split by TAB, sorted by PATH in byte order:
#   HASH SIZE MTIME CTIME INODE PATH     HASH is '-' when not hashed (sample), '!' when the file could not be read.
# The cache ($prefix.$algo.tsv) is the last manifest; a record is reused when SIZE, MTIME, CTIME, INODE and PATH
# are unchanged. New hashes are appended to a journal as they come, so an interrupted run resumes from there.
# Rot: a file hashed again whose SIZE, MTIME and INODE are those of its cached record but whose hash is not gets
# HASH = NEW/GOOD (GOOD: the hash its bytes had); the cache keeps that mark until the file is written again (a new
# size or mtime, or a new inode), so every later comparison reports it too.
# Not part of a tree: its .ironclad-quarantine directory and .ironclad-*.part files (both left by images repair).
#
# op=probe  root=DIR [cachedir=DIR]       prints prefix=, algos=, jobs=
# op=scan   root=DIR algo=sha256|blake3|xxh128|crc32 manifest=FILE [progress=FILE] [mode=cached|rehash|sample|slice]
#           [permyriad=N seed=N | slices=S slice=K] [pack=none|gz] [jobs=N] [chunk_files=N] [chunk_bytes=N] [batch=N]
#           prints files= bytes= hashed= hashed_bytes= cached= unhashed= unreadable= walk_errors= tool=
# exit: 0 done, 64 bad arguments, 66 no such directory, 69 no hash tool, 75 tree locked by another scan.
set -eu
LC_ALL=C
export LC_ALL
tab=$(printf '\t')

op=scan root='' cachedir='' algo=sha256 utf8only=0 mode=cached permyriad=0 seed=0 slices=1 slice=0 pack=none jobs='' manifest='' progress=''
chunk_files=2000 chunk_bytes=536870912 batch=100000
for arg do
  case $arg in
    op=*) op=${arg#op=} ;;
    root=*) root=${arg#root=} ;;
    cachedir=*) cachedir=${arg#cachedir=} ;;
    algo=*) algo=${arg#algo=} ;;
    mode=*) mode=${arg#mode=} ;;
    permyriad=*) permyriad=${arg#permyriad=} ;;
    slices=*) slices=${arg#slices=} ;;
    slice=*) slice=${arg#slice=} ;;
    seed=*) seed=${arg#seed=} ;;
    pack=*) pack=${arg#pack=} ;;
    jobs=*) jobs=${arg#jobs=} ;;
    manifest=*) manifest=${arg#manifest=} ;;
    progress=*) progress=${arg#progress=} ;;
    chunk_files=*) chunk_files=${arg#chunk_files=} ;;
    chunk_bytes=*) chunk_bytes=${arg#chunk_bytes=} ;;
    batch=*) batch=${arg#batch=} ;;
    *) echo "ironclad-images: unknown argument: $arg" >&2; exit 64 ;;
  esac
done
have() { command -v "$1" >/dev/null 2>&1; }
[ -n "$jobs" ] || jobs=$(nproc 2>/dev/null || echo 2)
# The cache: cachedir=, else the user's ($XDG_CACHE_HOME or ~/.cache); without a HOME (a systemd service, a bare cron)
# root's is /var/lib/ironclad/images/cache, never a directory others write (/tmp); another user must name one.
if [ -z "$cachedir" ]; then
  if [ -n "${XDG_CACHE_HOME:-}" ]; then cachedir=$XDG_CACHE_HOME/ironclad/images
  elif [ -n "${HOME:-}" ]; then cachedir=$HOME/.cache/ironclad/images
  elif [ "$(id -u)" = 0 ]; then cachedir=/var/lib/ironclad/images/cache
  else echo "ironclad-images: no HOME to keep the hash cache in: give cachedir=" >&2; exit 64; fi
fi
case $cachedir in /*) ;; *) cachedir=$(pwd)/$cachedir ;; esac

# Go to the tree; its resolved path names the cache, so two spellings of one tree share it.
[ -n "$root" ] || { echo "ironclad-images: root= is required" >&2; exit 64; }
cd "$root" 2>/dev/null || { printf 'no such directory: %s\n' "$root" >&2; exit 66; }
absroot=$(pwd -P)
key=$(printf '%s\n' "$absroot" | sha256sum | cut -c1-16)
prefix=$cachedir/$key

if [ "$op" = probe ]; then
  algos=''
  if have openssl || have sha256sum; then algos=sha256; fi
  if have b3sum; then algos="$algos,blake3"; fi
  if xxhsum -H2 </dev/null >/dev/null 2>&1; then algos="$algos,xxh128"; fi
  if have cksum; then algos="$algos,crc32"; fi
  printf 'prefix=%s\nalgos=%s\njobs=%s\n' "$prefix" "${algos#,}" "$jobs"
  exit 0
fi
[ "$op" = scan ] || { echo "ironclad-images: unknown op: $op" >&2; exit 64; }
[ -n "$manifest" ] || { echo "ironclad-images: manifest= is required" >&2; exit 64; }

# The hashing tool and the sed expression turning its output line into HASH<TAB>PATH (names are passed as ./PATH).
case $algo in
  sha256)
    if have openssl; then tool='openssl dgst -sha256 -r' strip='s/^\([0-9a-f]*\) \*\.\//\1\t/'
    else tool=sha256sum strip='s/^\([0-9a-f]*\)  \.\//\1\t/'; fi ;;
  blake3) tool='b3sum --no-mmap' strip='s/^\([0-9a-f]*\)  \.\//\1\t/' utf8only=1 ;; # it prints names as UTF-8; reads, not mmap: a small file costs half the CPU
  xxh128) tool='xxhsum -H2' strip='s/^\([0-9a-f]*\)  \.\//\1\t/' ;;
  crc32) tool=cksum strip='s/^\([0-9]*\) [0-9]* \.\//\1\t/' ;;
  *) echo "ironclad-images: unknown algo: $algo" >&2; exit 64 ;;
esac
have "${tool%% *}" || { echo "ironclad-images: ${tool%% *} is not installed" >&2; exit 69; }

cache=$prefix.$algo.tsv
journal=$prefix.$algo.journal
(umask 077 && mkdir -p "$cachedir")
if have flock; then
  exec 9>"$prefix.lock"
  flock -n 9 || { echo "another ironclad images scan of this tree is running" >&2; exit 75; }
fi
work=$(mktemp -d "$prefix.work.XXXXXX")
# On the way out the hashing processes of this scan end first ($pids, and $! in case the last one started before its
# pid was noted), and are waited for: an xargs still starting a worker would make a file in $work after rm -rf
# emptied it, and the work directory would stay (seen under load when a scan was interrupted).
pids=''
# shellcheck disable=SC2154 # (p: the trap's own loop variable)
trap 'for p in $pids ${!:-}; do kill "$p" 2>/dev/null || true; done; wait || true; rm -rf "$work" 2>/dev/null || { sleep 0.1; rm -rf "$work"; }' EXIT
trap 'exit 130' INT TERM HUP

# Progress for a watcher: PHASE FILES_DONE FILES_TOTAL BYTES_DONE BYTES_TOTAL, replaced atomically.
say() {
  [ -z "$progress" ] && return 0
  printf '%s %s %s %s %s\n' "$@" >"$progress.tmp" && mv -f "$progress.tmp" "$progress"
}
say walking 0 0 0 0

# Fold the journal of an interrupted run into the cache; a truncated last record can never match a file.
[ -f "$cache" ] || : >"$cache"
if [ -s "$journal" ]; then
  sort -z -t "$tab" -k6 -T "$work" "$journal" >"$work/journal"
  sort -z -m -t "$tab" -k6 -T "$work" "$cache" "$work/journal" >"$work/merged"
  mv -f "$work/merged" "$cache"
fi
[ ! -e "$journal" ] || rm -f "$journal"

# Walk: SIZE MTIME CTIME INODE PATH, sorted by path. Unreadable directories are counted, not fatal.
# A cache kept inside the tree itself (say the tree is a home directory) is not part of it.
set -- . -path ./.ironclad-quarantine -prune -o -name '.ironclad-*.part' -prune -o
cachedir_p=$(cd "$cachedir" && pwd -P)
case $cachedir_p/ in "$absroot"/?*) set -- "$@" -path "./${cachedir_p#"$absroot"/}" -prune -o ;; esac
find "$@" -type f -printf '%s\t%T@\t%C@\t%i\t%P\0' 2>"$work/walk.err" | sort -z -t "$tab" -k5 -T "$work" >"$work/list"

# Classify each file against the cache (a merge of two sorted streams): reuse, leave unhashed, or queue for
# hashing in chunks of at most chunk_files files or chunk_bytes bytes. Names holding \, CR or LF (hashing tools
# escape them), or for a tool that prints names as UTF-8 names that are not UTF-8, are hashed one by one from stdin
# (a.*). A queued record starts with PRIOR: the good hash of its cached record when SIZE, MTIME and INODE are
# unchanged (a new hash then is rot), else '-'.
: >"$work/hits"; : >"$work/unhashed"; : >"$work/new"; : >"$work/new.a"; : >"$work/index"
awk -v cache="$cache" -v work="$work" -v mode="$mode" -v permyriad="$permyriad" -v seed="$seed" -v slices="$slices" -v slice="$slice" \
  -v chunk_files="$chunk_files" -v chunk_bytes="$chunk_bytes" -v jobs="$jobs" -v utf8only="$utf8only" '
  function pathof(rec, f) { split(rec, f, "\t"); return substr(rec, length(f[1] f[2] f[3] f[4]) + 5) }
  function cread(line, t) {
    if ((getline line < cache) <= 0) { cdone = 1; return }
    t = index(line, "\t"); chash = substr(line, 1, t - 1); crest = substr(line, t + 1); cpath = pathof(crest)
  }
  function good(h, s) { s = index(h, "/"); return s ? substr(h, s + 1) : h }
  function pathhash(p, h, i, n) {
    h = seed; n = length(p)
    for (i = 1; i <= n; i++) h = (h * 31 + ord[substr(p, i, 1)]) % 2147483647
    return h
  }
  function picked(p) { return pathhash(p) % 10000 < permyriad }
  # mode=slice: the files of slice K of S (by path), rehashed; the rest as in mode=cached (new or changed files hashed).
  function inslice(p) { return pathhash(p) % slices == slice }
  function endchunk(g) {
    close(cname ".rec")
    for (g = 1; g <= jobs; g++) { if (gb[g] != "") close(cname ".g" g); gb[g] = "" }
    printf "c %06d %.0f %.0f\n", ci, cn, cb > (work "/index")
    cn = 0; cb = 0
  }
  # The group (one hashing process each) with the fewest bytes so far: groups end at about the same time.
  function lightest(g, best) {
    best = 1
    for (g = 1; g <= jobs; g++) { if (gb[g] == "") { gb[g] = 0; return g } if (gb[g] < gb[best]) best = g }
    return best
  }
  function queue(size) {
    tohash++; tohash_bytes += size
    if (path ~ /[\\\r\n]/ || (utf8only && path !~ utf8)) { print prior FS $0 > (work "/a.rec"); print "./" path > (work "/a.names"); an++; ab += size; return }
    if (cn == 0) { ci++; cname = sprintf("%s/c.%06d", work, ci) }
    g = lightest(); gb[g] += size
    print prior FS $0 > (cname ".rec"); print "./" path > (cname ".g" g); cn++; cb += size
    if (cn >= chunk_files + 0 || cb >= chunk_bytes + 0) endchunk()
  }
  BEGIN {
    RS = ORS = "\0"; FS = "\t"
    utf8 = "^([\001-\177]|[\302-\337][\200-\277]|[\340-\357][\200-\277][\200-\277]|[\360-\364][\200-\277][\200-\277][\200-\277])*$"
    for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i
    cread()
  }
  {
    path = substr($0, length($1 $2 $3 $4) + 5)
    files++; bytes += $1; hit = ""; prior = "-"
    while (!cdone && cpath < path) cread()
    while (!cdone && cpath == path) {
      if (chash != "-" && chash != "!") {
        if (crest == $0) hit = chash
        split(crest, c, "\t"); if (c[1] == $1 && c[2] == $2 && c[4] == $4) prior = good(chash)
      }
      cread()
    }
    if (mode == "sample" ? picked(path) : (mode == "rehash" || hit == "" || (mode == "slice" && inslice(path)))) queue($1)
    else if (hit != "") { print hit FS $0 > (work "/hits"); cached++ }
    else { print "-" FS $0 > (work "/unhashed"); unhashed++ }
  }
  END {
    if (cn) endchunk()
    if (an) printf "a a %.0f %.0f\n", an, ab > (work "/index")
    printf "files=%.0f\nbytes=%.0f\ncached=%.0f\nunhashed=%.0f\ntohash=%.0f\ntohash_bytes=%.0f\n", \
      files, bytes, cached, unhashed, tohash, tohash_bytes > (work "/stats")
  }' "$work/list"
files=0 bytes=0 cached=0 unhashed=0 tohash=0 tohash_bytes=0
# shellcheck disable=SC1091 # numbers written by the awk above
. "$work/stats"

# A chunk is hashed by one process per job, each given a group of files of about the same total bytes (few, long
# processes: starting one costs more than hashing a small file). Each appends its tool output to a file of its own
# (parallel writers to one pipe can split lines); an awkward name is hashed from stdin, written as HASH<TAB>PATH.
# shellcheck disable=SC2016 # these are scripts for `sh -c`, expanded there
batch_worker='out=$1; shift; exec "$@" >>"$out.$$"'
# shellcheck disable=SC2016
file_worker='f=$1; shift; h=$("$@" <"$f") && printf "%s\t%s\0" "${h%% *}" "${f#./}"'

# Start hashing chunk $1 (c: one process per group, in the background, their pids in $pids; a: the awkward names,
# one by one, here): its tool output lands in $work/h.$1.*.
start_chunk() { # $1: chunk id or a
  pids=''
  if [ "$1" = a ]; then
    # shellcheck disable=SC2086 # the tool's fixed arguments are split on purpose
    xargs -0 -r -I '{}' sh -c "$file_worker" worker '{}' $tool <"$work/a.names" >"$work/h.a.0" 2>>"$work/hash.err" || [ $? -eq 123 ]
    return 0
  fi
  for names in "$work/c.$1".g*; do
    # shellcheck disable=SC2086
    xargs -0 -r -n "$batch" sh -c "$batch_worker" worker "$work/h.$1" $tool <"$names" 2>>"$work/hash.err" &
    pids="$pids $!"
  done
}
wait_chunk() {
  for pid in $pids; do wait "$pid" || [ $? -eq 123 ] || { echo "ironclad-images: $tool failed" >&2; exit 70; }; done
  pids=''
}

# Append a hashed chunk's records (HASH + stat line; '!' when the tool gave nothing) to the journal and to $3.
collect_chunk() { # $1: chunk id or a, $2: its .rec file, $3: output file
  cid=$1 crec=$2 cinto=$3 # (not id: the chunk loop's)
  # the tools' lines, HASH<TAB>PATH after $strip, a line each (awkward names: NUL-terminated records already)
  if [ "$cid" = a ]; then hashes=$work/h.a.0 nul=1
  else
    set -- "$work/h.$cid".*
    [ -f "$1" ] || set -- /dev/null
    sed "$strip" "$@" >"$work/hashes"
    hashes=$work/hashes nul=0
  fi
  # one awk writes each record to the journal and to $3 (no cat, tr or tee: on a small tree a process is time)
  awk -v hashes="$hashes" -v nul="$nul" -v bad="$work/bad" -v journal="$journal" -v into="$cinto" '
    BEGIN { RS = nul ? "\0" : "\n"; while ((getline line < hashes) > 0) { t = index(line, "\t"); h[substr(line, t + 1)] = substr(line, 1, t - 1) } RS = ORS = "\0"; FS = "\t" }
    {
      stat = substr($0, length($1) + 2); path = substr(stat, length($2 $3 $4 $5) + 5)
      if (!(path in h)) { r = "!" FS stat; n++; b += $2 }
      else if ($1 != "-" && h[path] != $1) { r = h[path] "/" $1 FS stat; rot++ }
      else r = h[path] FS stat
      print r >> journal; print r >> into
    }
    END { printf "%.0f %.0f %.0f\n", n, b, rot > bad }' "$crec"
  # its h.* files go now, not with the work directory: on a tree of millions of files they would hold a second copy
  # of every hash line until the scan ends (one rm a chunk of 2,000 files: ~1 ms)
  rm -f "$work/h.$cid".*
  read -r n_bad b_bad n_rot <"$work/bad"
  unreadable=$((unreadable + n_bad)) unreadable_bytes=$((unreadable_bytes + b_bad)) rot=$((rot + n_rot))
}

# The chunks in turn, the hashing never waiting for the bookkeeping: while chunk K hashes, chunk K-1's records are
# joined and journaled here.
unreadable=0 unreadable_bytes=0 rot=0 done_files=0 done_bytes=0
say hashing 0 "$tohash" 0 "$tohash_bytes"
prev='' prev_n=0 prev_b=0
collect_prev() {
  [ -n "$prev" ] || return 0
  if [ "$prev" = a ]; then collect_chunk a "$work/a.rec" "$work/new.a"; else collect_chunk "$prev" "$work/c.$prev.rec" "$work/new"; fi
  done_files=$((done_files + prev_n)) done_bytes=$((done_bytes + prev_b))
  say hashing "$done_files" "$tohash" "$done_bytes" "$tohash_bytes"
  prev=''
}
while read -r kind id n b <&3; do
  [ "$kind" = c ] || id=a
  start_chunk "$id"
  collect_prev
  wait_chunk
  prev=$id prev_n=$n prev_b=$b
done 3<"$work/index"
collect_prev

# The new cache is this run's manifest; replace it atomically, then hand a stable copy (a hard link) to the reader.
say writing "$tohash" "$tohash" "$tohash_bytes" "$tohash_bytes"
sort -z -m -t "$tab" -k6 -T "$work" "$work/hits" "$work/new" "$work/new.a" "$work/unhashed" >"$work/cache"
mv -f "$work/cache" "$cache"
rm -f "$journal"
case $pack in
  gz) gzip -1 -c "$cache" >"$manifest.tmp" && mv -f "$manifest.tmp" "$manifest" ;;
  *) ln -f "$cache" "$manifest" 2>/dev/null || cp "$cache" "$manifest" ;;
esac
[ -z "$progress" ] || rm -f "$progress"

# Only the first complaints go to stderr: a tree with a million unreadable files must not flood the caller.
# (empty files, the usual case, start no process: on a small tree the last side's end is the compare's critical path)
walk_errors=0
if [ -s "$work/walk.err" ]; then walk_errors=$(wc -l <"$work/walk.err"); head -n 5 "$work/walk.err" >&2; fi
if [ -s "$work/hash.err" ]; then head -n 5 "$work/hash.err" >&2; fi
printf 'files=%s\nbytes=%s\nhashed=%s\nhashed_bytes=%s\ncached=%s\nunhashed=%s\nunreadable=%s\nrot_found=%s\nwalk_errors=%s\ntool=%s\n' \
  "$files" "$bytes" "$((tohash - unreadable))" "$((tohash_bytes - unreadable_bytes))" "$cached" "$unhashed" "$unreadable" "$rot" "$walk_errors" "${tool%% *}"
