#!/bin/sh
# ironclad census: every PostgreSQL instance on this host, found from independent sources (postmaster
# processes, listening sockets, postgresql-common's clusters, postmaster.pid files, container runtimes) and judged against
# the clusters this host should run. It runs on the database host itself with nothing but POSIX sh and the
# usual tools: `ironclad check instances` sends it over SSH, and the backup job embeds it as its gate, so the
# rules exist in this one file.
#
# usage: census.sh [--expect|--allow VERSION/CLUSTER:PORT[:DATADIR]]... [--identity FILE] [--data-root DIR]
#                  [--restored DIR] [--conf-root DIR] [--no-containers]
#   --expect     a cluster that must run here, once per cluster. Its data directory is the pinned one
#                (identity file), else DATADIR, else postgresql-common's, else DATA_ROOT/VERSION/CLUSTER.
#   --allow      a cluster that may run here (extra_clusters): judged like an expected one when it runs,
#                only noted when it does not.
#   --identity   pinned identities written by `ironclad apply` (default /var/lib/ironclad/identity.json)
#   --restored   pins of clusters made by `ironclad pitr restore`, CLUSTER.json each (default /var/lib/ironclad/restored):
#                a running cluster its pin describes (name, data directory, system identifier) is a restore, noted,
#                never one of the expected clusters; a pin that names an expected cluster is not believed
#   --data-root  where clusters live (default /var/lib/postgresql): its */*/postmaster.pid files are checked
#   --conf-root  postgresql-common's configuration (default $PG_CLUSTER_CONF_ROOT, else /etc/postgresql): its clusters
#                are listed as pg_lsclusters would (src/facts/lsclusters.sh, put in below when the census is sent)
#   --no-containers  do not ask docker/podman (their postmasters are still seen as processes)
#   --proc       the proc filesystem to read (default /proc; tests give a recorded tree)
# output: one record a line, fields separated by tabs, '-' when unknown
#   expect    VERSION/CLUSTER  PORT  DATADIR  SYSTEM_IDENTIFIER  PINNED_IDENTIFIER  PINNED_AT  required|allowed
#   instance  PORT  DATADIR  PID  SYSTEM_IDENTIFIER  EXPECTED_AS  CLUSTER  CONTAINER  SOURCES  RESTORED_FROM  RESTORE_TARGET  RESTORE_PINNED_AT
#   problem   TEXT          (words for a person at 3 a.m.)
#   note      TEXT          (a source that could not be asked; not a problem)
#   census    ok|problems  COUNT      (always the last line: output without it is from a census that died)
# exit: 0 nothing wrong, 3 problems found, 2 bad usage, 1 the census itself failed

set -u
set +e # every failure is handled where it happens (a job embedding the census may run with -e)
umask 077
LC_ALL=C
export LC_ALL
PATH=${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin
T='	'
nl='
'

usage() {
  printf 'census: %s\nusage: census.sh [--expect|--allow VERSION/CLUSTER:PORT[:DATADIR]]... [--identity FILE] [--data-root DIR] [--no-containers]\n' "$1" >&2
  exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ironclad-census.XXXXXX") || { echo 'census: cannot create a temporary directory' >&2; exit 1; }
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
rec=$tmp/records
: >"$rec" || exit 1
: >"$tmp/expect"

# rec TYPE FIELD...: append one record; empty fields become '-'.
rec() {
  _r=$1
  shift
  for _f in "$@"; do _r="$_r$T${_f:--}"; done
  printf '%s\n' "$_r" >>"$rec"
}

note() { rec N "$1"; }

# canon PATH: sets $canonical to the directory PATH with symlinks resolved (as the kernel reports a process' cwd; a
# missing last component kept, as readlink -f), or as given. In this shell (cd -P and back): no process.
unset CDPATH
census_pwd=${PWD:-/}
canonical=
canon() {
  canonical=$1
  if cd -P -- "$1" 2>/dev/null; then
    canonical=$PWD
  elif [ "${1%/*}" != "$1" ] && cd -P -- "${1%/*}/" 2>/dev/null; then
    canonical=${PWD%/}/${1##*/}
  else
    return 0
  fi
  cd -- "$census_pwd" 2>/dev/null || cd /
}

# @lsclusters: src/instances/script.ts puts src/facts/lsclusters.sh (ic_lsclusters) here

# sysid_of DIR: sets $sid to the system identifier in DIR's pg_control (pg_controldata checks its CRC;
# without it, the first 8 bytes of the file are the identifier); empty when unreadable. Read once per directory.
sids='|'
sysid_of() {
  case $sids in
    *"|$1="*) sid=${sids#*"|$1="}; sid=${sid%%|*}; return 0 ;;
  esac
  sid=
  sysid_read "$1"
  sids="$sids$1=$sid|"
}

# sysid_read DIR: read it, into $sid.
sysid_read() {
  [ -f "$1/global/pg_control" ] || return 0
  _v=
  read -r _v 2>/dev/null <"$1/PG_VERSION" || _v=
  _bin=
  if [ -n "$_v" ] && [ -x "/usr/lib/postgresql/$_v/bin/pg_controldata" ]; then
    _bin=/usr/lib/postgresql/$_v/bin/pg_controldata
  elif command -v pg_controldata >/dev/null 2>&1; then
    _bin=pg_controldata
  fi
  if [ -n "$_bin" ] && "$_bin" "$1" >"$tmp/controldata" 2>/dev/null; then
    while IFS= read -r _l; do
      case $_l in 'Database system identifier:'*) sid=${_l#*:}; sid=${sid#"${sid%%[! "$T"]*}"}; break ;; esac
    done <"$tmp/controldata"
  fi
  if [ -z "$sid" ]; then
    sid=$(od -An -t u8 -N 8 "$1/global/pg_control" 2>/dev/null) || sid=
    sid=${sid#"${sid%%[! ]*}"}
  fi
  case $sid in '' | *[!0-9]*) sid= ;; esac
}

# add_expect VERSION/CLUSTER:PORT[:DATADIR] REQUIRED(1|0)
add_expect() {
  case $1 in */*:*) ;; *) usage "--expect wants VERSION/CLUSTER:PORT[:DATADIR], got '$1'" ;; esac
  ev=${1%%/*}
  rest=${1#*/}
  ec=${rest%%:*}
  rest=${rest#*:}
  ep=${rest%%:*}
  ed=
  case $rest in *:*) ed=${rest#*:} ;; esac
  case $ev in '' | *[!0-9.]*) usage "bad version in --expect '$1'" ;; esac
  case $ep in '' | *[!0-9]*) usage "bad port in --expect '$1'" ;; esac
  case $ec in '' | *[!A-Za-z0-9_.-]*) usage "bad cluster name in --expect '$1'" ;; esac
  printf '%s\t%s\t%s\t%s\t%s\n' "$ev" "$ec" "$ep" "$2" "$ed" >>"$tmp/expect"
}

identity=/var/lib/ironclad/identity.json
restored=/var/lib/ironclad/restored
data_root=/var/lib/postgresql
proc=/proc
conf_root=${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}
containers=1
while [ $# -gt 0 ]; do
  case $1 in
    --expect) [ $# -ge 2 ] || usage '--expect needs a value'; add_expect "$2" 1; shift 2 ;;
    --expect=*) add_expect "${1#--expect=}" 1; shift ;;
    --allow) [ $# -ge 2 ] || usage '--allow needs a value'; add_expect "$2" 0; shift 2 ;;
    --allow=*) add_expect "${1#--allow=}" 0; shift ;;
    --identity) [ $# -ge 2 ] || usage '--identity needs a file'; identity=$2; shift 2 ;;
    --identity=*) identity=${1#--identity=}; shift ;;
    --restored) [ $# -ge 2 ] || usage '--restored needs a directory'; restored=$2; shift 2 ;;
    --data-root) [ $# -ge 2 ] || usage '--data-root needs a directory'; data_root=$2; shift 2 ;;
    --conf-root) [ $# -ge 2 ] || usage '--conf-root needs a directory'; conf_root=$2; shift 2 ;;
    --proc) [ $# -ge 2 ] || usage '--proc needs a directory'; proc=$2; shift 2 ;;
    --no-containers) containers=0; shift ;;
    *) usage "unknown argument '$1'" ;;
  esac
done

euid=
while read -r k _ e _; do
  if [ "$k" = Uid: ]; then euid=$e; break; fi
done 2>/dev/null </proc/self/status
[ "$euid" = 0 ] || note 'not running as root: processes, sockets and data directories of other users may be hidden from this census'

# --- the slow sources (container runtimes) run in the background while we look at /proc -----------------------
to=
command -v timeout >/dev/null 2>&1 && to='timeout 10'
runtimes=
# docker ps asks a daemon: with no socket where the client would look (its default, DOCKER_HOST, a context or a
# config that may name one), it can only fail, after ~20 ms of CPU. Podman needs no daemon: always asked.
docker_sock=/var/run/docker.sock
docker_reachable() {
  [ -n "${DOCKER_HOST:-}" ] || [ -n "${DOCKER_CONTEXT:-}" ] || [ -S "$docker_sock" ] || [ -e "${DOCKER_CONFIG:-${HOME:-/root}/.docker}/config.json" ]
}
if [ "$containers" = 1 ]; then
  for rt in docker podman; do
    command -v "$rt" >/dev/null 2>&1 || continue
    if [ "$rt" = docker ] && ! docker_reachable; then
      note "docker is installed but no daemon socket is there ($docker_sock; no DOCKER_HOST, DOCKER_CONTEXT or docker config): its containers were not listed"
      continue
    fi
    $to "$rt" ps --format "{{.ID}}$T{{.Image}}$T{{.Names}}$T{{.Ports}}" >"$tmp/$rt" 2>"$tmp/$rt.err" &
    runtimes="$runtimes $rt:$!"
  done
fi

# json_field: field(OBJ, KEY), a string or integer member of a flat JSON object's text, for the awk programs below
json_field='
    function field(obj, key,   s) {
      if (!match(obj, "\"" key "\"[ \t]*:[ \t]*(\"[^\"]*\"|-?[0-9]+)")) return ""
      s = substr(obj, RSTART, RLENGTH)
      sub(/^"[^"]*"[ \t]*:[ \t]*/, "", s)
      gsub(/"/, "", s)
      return s
    }
'

# --- pinned identities: pin VERSION CLUSTER PORT DATADIR SYSID PINNED_AT, or B (a problem) -------------
: >"$tmp/pins"
if [ -e "$identity" ]; then
  if ! awk -v file="$identity" "$json_field"'
    { text = text $0 " " }
    END {
      t = text; gsub(/[ \t\r]/, "", t)
      if (t !~ /^(\[.*\]|\{.*\})$/) { printf "B\t%s is not JSON: the pinned identities cannot be checked. Restore it (ironclad apply pins again) before trusting this host\n", file; exit 0 }
      n = split(text, objs, "}")
      k = 0
      for (i = 1; i <= n; i++) {
        if (objs[i] !~ /"cluster"/ && objs[i] !~ /"system_identifier"/) continue
        k++
        v = field(objs[i], "version"); c = field(objs[i], "cluster"); p = field(objs[i], "port")
        d = field(objs[i], "data_directory"); s = field(objs[i], "system_identifier"); at = field(objs[i], "pinned_at")
        if (v == "" || c == "" || d == "" || s !~ /^[0-9]+$/) { printf "B\t%s: entry %d lacks version, cluster, data_directory or system_identifier: that pin cannot be checked\n", file, k; continue }
        printf "pin\t%s\t%s\t%s\t%s\t%s\t%s\n", v, c, (p == "" ? "-" : p), d, s, (at == "" ? "-" : at)
      }
    }' "$identity" >"$tmp/pins.raw" 2>/dev/null; then
    rec B "$identity cannot be read: the pinned identities cannot be checked"
  fi
  while IFS=$T read -r kind a rest; do
    case $kind in
      B) rec B "$a" ;;
      pin) printf '%s\t%s\n' "$a" "$rest" >>"$tmp/pins" ;;
    esac
  done <"$tmp/pins.raw"
fi

# --- restore pins (ironclad pitr restore): R VERSION CLUSTER PORT DATADIR SYSID FROM TARGET PINNED_AT FILE, or
# RB FILE CLUSTER WHY (a pin that cannot be believed). Their content is data: every field checked against its shape.
for f in "$restored"/*.json; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  rn=${f##*/}
  rn=${rn%.json}
  case $rn in '' | [!a-z0-9_]* | *[!a-z0-9_-]*) rec RB "$f" - 'its name is not a cluster name'; continue ;; esac
  if [ -L "$f" ] || [ ! -f "$f" ]; then rec RB "$f" "$rn" 'it is not a regular file'; continue; fi
  rl=$(head -c 4096 "$f" 2>/dev/null | awk -v name="$rn" "$json_field"'
    { text = text $0 " " }
    END {
      t = text; gsub(/[ \t\r]/, "", t)
      if (t !~ /^\{.*\}$/ || index(substr(t, 2), "{")) { print "bad\tit is not one JSON object"; exit }
      c = field(text, "cluster"); v = field(text, "version"); p = field(text, "port"); d = field(text, "data_directory")
      s = field(text, "system_identifier"); h = field(text, "restored_from"); g = field(text, "target"); at = field(text, "pinned_at")
      time = "^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9](\\.[0-9]+)?(Z|[+-][0-9][0-9](:?[0-9][0-9])?)$"
      if (c != name) why = "it does not name the cluster of its file name"
      else if (v !~ /^[0-9]+$/ || length(v) > 3) why = "its version is not one"
      else if (p !~ /^[0-9]+$/ || length(p) > 5) why = "its port is not one"
      else if (d !~ /^\/[A-Za-z0-9_.\/-]+$/) why = "its data directory is not a plain absolute path"
      else if (s !~ /^[0-9]+$/ || length(s) > 20) why = "its system identifier is not one"
      else if (h !~ /^[A-Za-z0-9][A-Za-z0-9._-]*$/ || length(h) > 100) why = "it does not name the host restored from"
      else if (g != "latest" && g !~ time) why = "its target is not a time"
      else if (at !~ time) why = "its pinned_at is not a time"
      if (why != "") print "bad\t" why
      else printf "ok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v, c, p, d, s, h, g, at
    }') || rl=
  case $rl in
    ok"$T"*)
      IFS=$T read -r _ rv rc rp rd rs rh rg rat <<EOF_PIN
$rl
EOF_PIN
      canon "$rd"
      rec R "$rv" "$rc" "$rp" "$canonical" "$rs" "$rh" "$rg" "$rat" "$f" ;;
    bad"$T"*) rec RB "$f" "$rn" "${rl#bad"$T"}" ;;
    *) rec RB "$f" "$rn" 'it cannot be read' ;;
  esac
done

# --- postmaster processes: P PID PPID PORT DATADIR SYSID IN_CONTAINER OTHER_NET_NS ---------------------
: >"$tmp/procs"
pgpids=' '
for d in "$proc"/[0-9]*; do
  read -r c 2>/dev/null <"$d/comm" || continue
  case $c in postgres | postmaster) ;; *) continue ;; esac
  pp=
  while read -r k v _; do
    if [ "$k" = PPid: ]; then pp=$v; break; fi
  done 2>/dev/null <"$d/status"
  printf '%s\t%s\n' "${d#"$proc"/}" "$pp" >>"$tmp/procs"
  pgpids="$pgpids${d#"$proc"/} "
done
# ns_other KIND: the process $pid is in another KIND namespace than the census (both readable, not the same one).
# (test -ef: the same file; POSIX.1-2024, and in dash, bash and busybox sh of every version we meet)
# shellcheck disable=SC3013
ns_other() { [ -e "$proc/$pid/ns/$1" ] && [ -e "$proc/self/ns/$1" ] && ! [ "$proc/$pid/ns/$1" -ef "$proc/self/ns/$1" ]; }
while IFS=$T read -r pid ppid; do
  # A postmaster is a postgres process whose parent is not one (backends and helpers are its children).
  case $pgpids in *" $ppid "*) continue ;; esac
  [ -d "$proc/$pid" ] || continue
  port=
  ad=
  prev=
  if tr '\000' '\n' <"$proc/$pid/cmdline" >"$tmp/argv" 2>/dev/null; then
    while IFS= read -r a; do
      case $prev in
        -D | --pgdata) ad=$a ;;
        -p | --port) port=$a ;;
        -c) case $a in port=*) port=${a#port=} ;; data_directory=* | data-directory=*) ad=${a#data?directory=} ;; esac ;;
      esac
      case $a in
        -D?*) ad=${a#-D} ;;
        --pgdata=*) ad=${a#--pgdata=} ;;
        -p?*) port=${a#-p} ;;
        --port=* | -cport=*) port=${a#*port=} ;;
        --data?directory=* | -cdata?directory=*) ad=${a#*directory=} ;;
      esac
      prev=$a
    done <"$tmp/argv"
  fi
  # In a container: another pid or network namespace (a sandboxed service only gets its own mounts).
  # Its files are reached through /proc/PID/root whenever its mounts differ from ours.
  ctr=0
  on=0
  root=
  if ns_other mnt; then root=$proc/$pid/root; fi
  if ns_other net; then on=1; ctr=1; fi
  if ns_other pid; then ctr=1; fi
  # The postmaster runs in its data directory (its cwd: entered, in our mounts); -D may name a configuration directory.
  dd=
  if [ -z "$root" ]; then
    canon "$proc/$pid/cwd"
    case $canonical in "$proc"/*) ;; *) dd=$canonical ;; esac
  else
    dd=$(readlink "$proc/$pid/cwd" 2>/dev/null) || dd=
  fi
  if [ -z "$dd" ]; then case $ad in /*) dd=$ad ;; esac; fi
  if [ -n "$dd" ] && [ -z "$root" ]; then canon "$dd"; dd=$canonical; fi
  # The kernel shows another mount namespace's cwd from our root when it can: try its root, then ours.
  at=$dd
  if [ -n "$root" ] && [ -e "$root$dd/PG_VERSION" ]; then at=$root$dd; fi
  if [ -z "$port" ] && [ -n "$dd" ] && [ -r "$at/postmaster.pid" ]; then
    fpid=
    fport=
    { read -r fpid && read -r _ && read -r _ && read -r fport; } 2>/dev/null <"$at/postmaster.pid"
    if [ "$fpid" = "$pid" ] || [ "$ctr" = 1 ]; then port=$fport; fi
  fi
  case $port in *[!0-9]*) port= ;; esac
  sid=
  [ -n "$dd" ] && sysid_of "$at"
  [ -d "$proc/$pid" ] || continue # it exited while we looked
  rec P "$pid" "$ppid" "$port" "$dd" "$sid" "$ctr" "$on"
done <"$tmp/procs"

# --- listening sockets: L tcp|unix PORT PID PROGRAM ADDRESS_OR_PATH SOCKET ---------------------------------
# (SOCKET names the socket: a postmaster's child forked for a new connection holds its sockets for a moment too)
# One ss for both (each ss -p reads every process' descriptors): with two socket types it names each line's type first.
if command -v ss >/dev/null 2>&1 && ss -H -lnp -t -x >"$tmp/sockets" 2>/dev/null; then
  # ss: 'tcp LISTEN 0 244 127.0.0.1:5432 0.0.0.0:* users:(("postgres",pid=812,fd=5))'; unix ('u_str ...'): path in
  # field 5. (A tcp line without its type, as ss prints when asked for tcp alone, is read too.)
  if ! awk -v T="$T" '
    function owners(kind, port, where,   s, any) {
      s = $0; any = 0
      while (match(s, /\("[^"]*",pid=[0-9]+/)) {
        o = substr(s, RSTART + 2, RLENGTH - 2); s = substr(s, RSTART + RLENGTH)
        name = o; sub(/",pid=.*/, "", name); pid = o; sub(/.*pid=/, "", pid)
        out("L" T kind T port T pid T name T where T FILENAME ":" FNR); any = 1
      }
      if (!any) out("L" T kind T port T "-" T "-" T where T "-")
    }
    # tcp records first, then unix ones, whatever order ss lists them in (an instance names its sources in that order)
    function out(r) { if (r ~ "^L" T "unix") unix[++nu] = r; else print r }
    END { for (i = 1; i <= nu; i++) print unix[i] }
    $1 == "LISTEN" { $0 = "tcp " $0 }
    $1 == "tcp" { n = split($5, a, ":"); port = a[n]; addr = substr($5, 1, length($5) - length(port) - 1); owners("tcp", port, addr); next }
    $1 ~ /^u_/ && $5 ~ /\/\.s\.PGSQL\.[0-9]+$/ { port = $5; sub(/.*\.s\.PGSQL\./, "", port); owners("unix", port, $5) }
  ' "$tmp/sockets" >>"$rec"; then
    note 'the output of ss could not be read'
  fi
elif [ -r "$proc/net/unix" ]; then
  note 'ss is not available: listening sockets read from /proc/net without their owners'
  if ! awk -v T="$T" '
    function hex(h,   i, n) { n = 0; h = toupper(h); for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1; return n }
    FILENAME ~ /unix$/ { if ($8 ~ /\/\.s\.PGSQL\.[0-9]+$/) { p = $8; sub(/.*\.s\.PGSQL\./, "", p); print "L" T "unix" T p T "-" T "-" T $8 T "-" }; next }
    $4 == "0A" { split($2, a, ":"); print "L" T "tcp" T hex(a[2]) T "-" T "-" T a[1] T "-" }
  ' "$proc/net/unix" "$proc/net/tcp" "$proc/net/tcp6" >>"$rec" 2>/dev/null; then
    note 'the socket tables in /proc/net could not be read'
  fi
else
  note 'neither ss nor /proc/net can list listening sockets'
fi

# --- postgresql-common's clusters, as pg_lsclusters lists them: C VERSION CLUSTER PORT STATUS DATADIR START_CONF ------
# (lsclusters.sh; its warnings, a configuration line it could not read, are notes)
: >"$tmp/clusters"
if [ ! -d "$conf_root" ]; then
  note "there is no $conf_root (postgresql-common): its clusters were not listed"
elif ic_lsclusters "$conf_root" "$proc" "" 0 >"$tmp/lsclusters" 2>"$tmp/lsclusters.err"; then
  while IFS=$T read -r cv cc cp cs _ _ cd _ _ sc; do
    canon "$cd"
    printf '%s\t%s\t%s\t%s\t%s\n' "$cv" "$cc" "$cp" "$cs" "$canonical" >>"$tmp/clusters"
    rec C "$cv" "$cc" "$cp" "$cs" "$canonical" "$sc"
  done <"$tmp/lsclusters"
else
  note "the clusters of postgresql-common could not be listed (lsclusters failed)"
fi
if [ -s "$tmp/lsclusters.err" ]; then
  while IFS= read -r w; do note "$w"; done <"$tmp/lsclusters.err"
fi

# --- expected clusters: E VERSION CLUSTER PORT DATADIR EXISTS SYSID PINNED_SYSID PINNED_AT REQUIRED -------
while IFS=$T read -r ev ec ep req ed; do
  pd=
  ps=
  pat=
  while IFS=$T read -r pv pc _ pdd pss pa; do
    if [ "$pv" = "$ev" ] && [ "$pc" = "$ec" ]; then pd=$pdd; ps=$pss; pat=$pa; fi
  done <"$tmp/pins"
  if [ -z "$pd" ] && [ -z "$ed" ]; then
    while IFS=$T read -r cv cc _ _ cd; do
      if [ "$cv" = "$ev" ] && [ "$cc" = "$ec" ]; then ed=$cd; fi
    done <"$tmp/clusters"
  fi
  canon "${pd:-${ed:-$data_root/$ev/$ec}}"
  d=$canonical
  ex=0
  [ -d "$d" ] && ex=1
  sysid_of "$d"
  rec E "$ev" "$ec" "$ep" "$d" "$ex" "$sid" "$ps" "$pat" "$req"
  [ -n "$ps" ] || [ "$req" = 0 ] || note "$ev/$ec has no pinned identity yet (ironclad apply pins it): its system identifier is not checked"
done <"$tmp/expect"

# --- postmaster.pid files in every data directory we know of: F DATADIR PID PORT alive|dead|other|garbled PROGRAM
# (each directory once, in the order met)
dirs=$nl
add_dir() { case $dirs in *"$nl$1$nl"*) ;; *) dirs="$dirs$1$nl" ;; esac; }
while IFS=$T read -r k _ _ _ f5 f6 f7 _; do
  case $k in
    E) add_dir "$f5" ;;
    C) add_dir "$f6" ;;
    P) if [ "$f7" = 0 ]; then add_dir "$f5"; fi ;;
  esac
done <"$rec"
for f in "$data_root"/*/*/postmaster.pid; do
  if [ -e "$f" ]; then canon "${f%/postmaster.pid}"; add_dir "$canonical"; fi
done
while IFS= read -r d; do
  case $d in '' | -) continue ;; esac
  [ -f "$d/postmaster.pid" ] || continue
  fpid=
  fport=
  { read -r fpid && read -r _ && read -r _ && read -r fport; } 2>/dev/null <"$d/postmaster.pid"
  case $fpid in '' | *[!0-9]*) rec F "$d" "$fpid" "$fport" garbled; continue ;; esac
  c=
  read -r c 2>/dev/null <"$proc/$fpid/comm" || c=
  state=dead
  if [ -n "$c" ]; then
    state=other
    case $c in
      postgres | postmaster)
        # its cwd is that directory (the same file), or cannot be looked at
        # shellcheck disable=SC3013 # test -ef: see ns_other
        if [ ! -e "$proc/$fpid/cwd" ] || [ "$proc/$fpid/cwd" -ef "$d" ]; then state=alive; fi
        ;;
    esac
  fi
  rec F "$d" "$fpid" "$fport" "$state" "$c"
done <<EOF_DIRS
$dirs
EOF_DIRS

# --- containers from postgres images: K RUNTIME ID IMAGE NAMES PORTS PID ------------------------------------
for job in $runtimes; do
  rt=${job%%:*}
  if ! wait "${job#*:}"; then
    note "$rt is installed but '$rt ps' failed ($(head -n 1 "$tmp/$rt.err" 2>/dev/null)): its containers were not listed"
    continue
  fi
  while IFS=$T read -r id image names ports; do
    case $image in
      *postgres* | *postgis* | *timescale* | *pgvector* | *pgvecto*)
        cpid=$($to "$rt" inspect --format '{{.State.Pid}}' "$id" 2>/dev/null) || cpid=
        rec K "$rt" "$id" "$image" "$names" "$ports" "$cpid"
        ;;
    esac
  done <"$tmp/$rt"
done

# --- the judgement -----------------------------------------------------------------------------------------
awk -F "$T" -v T="$T" '
function problem(s) { problems[++np] = s }
function add(list, s) { return list == "" ? s : (index("," list ",", "," s ",") ? list : list "," s) }
function dash(s) { return s == "" ? "-" : s }
function restore(r) { return "a restore of " Rfrom[r] " at " (Rt[r] == "latest" ? "the end of its archive" : Rt[r]) " (ironclad pitr restore, pinned " Rat[r] ")" }
function newinst(pid, port, dd, sid, src) { ni++; Ipid[ni] = pid; Iport[ni] = port; Idd[ni] = dd; Isid[ni] = sid; Isrc[ni] = src; return ni }
function where(i,   s) {
  s = "pid " (Ipid[i] == "" ? "unknown" : Ipid[i])
  s = s (Iport[i] == "" ? " on an unknown port" : " on port " Iport[i])
  return s (Idd[i] == "" ? " (data directory unknown)" : " from " Idd[i])
}
$1 == "N" { notes[++nn] = $2; next }
$1 == "B" { problem($2); next }
$1 == "R" { nr++; Rv[nr] = $2; Rc[nr] = $3; Rp[nr] = $4; Rd[nr] = $5; Rs[nr] = $6; Rfrom[nr] = $7; Rt[nr] = $8; Rat[nr] = $9; Rf[nr] = $10; next }
$1 == "RB" { nb++; RBf[nb] = $2; RBc[nb] = $3; RBwhy[nb] = $4; next }
$1 == "E" { ne++; Ev[ne] = $2; Ec[ne] = $3; Ep[ne] = $4; Ed[ne] = $5; Ex[ne] = $6; Es[ne] = $7; Eps[ne] = $8; Eat[ne] = $9; Ereq[ne] = $10; En[ne] = $2 "/" $3; next }
$1 == "C" { nc++; Cv[nc] = $2; Cc[nc] = $3; Cp[nc] = $4; Cs[nc] = $5; Cd[nc] = $6; Csc[nc] = $7; next }
$1 == "F" { nf++; Fd[nf] = $2; Fpid[nf] = $3; Fport[nf] = $4; Fst[nf] = $5; Fprog[nf] = $6; next }
$1 == "K" { nk++; Krt[nk] = $2; Kid[nk] = $3; Kimg[nk] = $4; Kname[nk] = $5; Kports[nk] = $6; Kpid[nk] = $7; next }
$1 == "L" { for (f = 2; f <= NF; f++) if ($f == "-") $f = ""; nl++; Lkind[nl] = $2; Lport[nl] = $3; Lpid[nl] = $4; Lprog[nl] = $5; Lat[nl] = $6; Lsock[nl] = $7; next }
$1 == "P" {
  for (f = 2; f <= NF; f++) if ($f == "-") $f = ""
  i = newinst($2, $4, $5, $6, "process"); Ippid[i] = $3; Ick[i] = $7; Ion[i] = $8; byPid[$2] = i; next
}
END {
  # sockets: a postmaster gains its port and a source; a Postgres socket nobody explains is an instance itself. The
  # other holders of a socket of a postmaster are its children, caught between their fork and closing it: the same one.
  for (l = 1; l <= nl; l++) if (Lsock[l] != "" && Lpid[l] != "" && (Lpid[l] in byPid)) Sown[Lsock[l]] = byPid[Lpid[l]]
  for (l = 1; l <= nl; l++) {
    i = (Lpid[l] != "" && (Lpid[l] in byPid)) ? byPid[Lpid[l]] : (Lsock[l] in Sown ? Sown[Lsock[l]] : 0)
    if (i) { Isrc[i] = add(Isrc[i], Lkind[l]); if (Iport[i] == "") Iport[i] = Lport[l]; continue }
    pg = Lkind[l] == "unix" || Lprog[l] == "postgres" || Lprog[l] == "postmaster"
    if (!pg) continue
    key = Lpid[l] != "" ? "pid " Lpid[l] : "port " Lport[l]
    if (!(key in byKey)) {
      for (j = 1; j <= ni && Lpid[l] == ""; j++) if (Iport[j] == Lport[l] && Ion[j] != 1) { byKey[key] = j; break }
      if (!(key in byKey)) { byKey[key] = newinst(Lpid[l], Lport[l], "", "", ""); Iprog[byKey[key]] = Lprog[l]; Isock[byKey[key]] = Lat[l] }
      if (Lpid[l] != "") byPid[Lpid[l]] = byKey[key]
    }
    i = byKey[key]; Isrc[i] = add(Isrc[i], Lkind[l])
  }
  # pg_lsclusters and postmaster.pid name the instances they know
  for (c = 1; c <= nc; c++) for (i = 1; i <= ni; i++)
    if (Idd[i] != "" && Idd[i] == Cd[c] && Ick[i] != 1) { Icl[i] = Cv[c] "/" Cc[c]; Isrc[i] = add(Isrc[i], "pg_lsclusters"); Cat[c] = i }
  for (f = 1; f <= nf; f++) if (Fst[f] == "alive" && (Fpid[f] in byPid)) Isrc[byPid[Fpid[f]]] = add(Isrc[byPid[Fpid[f]]], "pidfile")
  # containers: the postmaster inside (its pid, or its parent, is the container process) or an instance of its own
  for (k = 1; k <= nk; k++) {
    if (Kpid[k] == "-") Kpid[k] = ""
    i = 0
    for (j = 1; j <= ni; j++) if (Kpid[k] != "" && (Ipid[j] == Kpid[k] || Ippid[j] == Kpid[k])) i = j
    if (!i) { i = newinst(Kpid[k], "", "", "", ""); Ion[i] = 1 }
    Ictr[i] = Krt[k] " container " Kname[k] " (image " Kimg[k] (Kports[k] == "-" ? "" : ", ports " Kports[k]) ")"
    Isrc[i] = add(Isrc[i], Krt[k])
  }
  for (i = 1; i <= ni; i++) if (Ick[i] == 1 && Ictr[i] == "") Ictr[i] = "a container (its own process or network namespace)"
  # which instance is which expected cluster: the one running from its data directory
  for (e = 1; e <= ne; e++) for (i = 1; i <= ni; i++)
    if (Idd[i] != "" && Idd[i] == Ed[e] && Ictr[i] == "" && !Iexp[i]) { Iexp[i] = e; Em[e] = i; break }

  # restores (ironclad pitr restore): a pin naming an expected cluster or its data directory is not believed; a believed
  # one describes the instance running from its data directory with its system identifier (Ir), never an expected one
  for (r = 1; r <= nr; r++) {
    for (e = 1; e <= ne; e++) if ((Rv[r] == Ev[e] && Rc[r] == Ec[e]) || Rd[r] == Ed[e]) { nb++; RBf[nb] = Rf[r]; RBc[nb] = Rc[r]; RBwhy[nb] = "it names " En[e] " of the inventory"; Rno[r] = 1 }
    if (Rno[r]) continue
    for (i = 1; i <= ni; i++) if (!Iexp[i] && Ictr[i] == "" && Idd[i] != "" && Idd[i] == Rd[r]) { Rinst[r] = i; if (Isid[i] == Rs[r]) Ir[i] = r; else Iwrong[i] = r }
  }
  for (e = 1; e <= ne; e++) print "expect" T En[e] T Ep[e] T Ed[e] T Es[e] T Eps[e] T Eat[e] T (Ereq[e] == 0 ? "allowed" : "required")
  for (i = 1; i <= ni; i++)
    print "instance" T dash(Iport[i]) T dash(Idd[i]) T dash(Ipid[i]) T dash(Isid[i]) T (Iexp[i] ? En[Iexp[i]] : "-") T dash(Icl[i]) T dash(Ictr[i]) T dash(Isrc[i]) \
      T (Ir[i] ? Rfrom[Ir[i]] T Rt[Ir[i]] T Rat[Ir[i]] : "-" T "-" T "-")

  for (e = 1; e <= ne; e++) {
    i = Em[e]
    if (!i && Ereq[e] == 0)
      notes[++nn] = "PostgreSQL " En[e] " (allowed on port " Ep[e] ") is not running"
    else if (!i && Ex[e] != 1)
      problem("PostgreSQL " En[e] " is missing: its data directory " Ed[e] " does not exist (expected on port " Ep[e] "). There is nothing to back up.")
    else if (!i)
      problem("PostgreSQL " En[e] " is not running (expected on port " Ep[e] " from " Ed[e] "). Nothing can be backed up until it runs again: start it (pg_ctlcluster " Ev[e] " " Ec[e] " start) and find out why it stopped.")
    else if (Iport[i] != "" && Iport[i] != Ep[e])
      problem("PostgreSQL " En[e] " runs on port " Iport[i] " (pid " Ipid[i] "), but the inventory expects port " Ep[e] ".")
    if (Eps[e] != "-" && Es[e] != "-" && Es[e] != Eps[e])
      problem("the system identifier of " En[e] " changed: " Eps[e] " was pinned" (Eat[e] == "-" ? "" : " on " Eat[e]) ", " Ed[e] " now holds " Es[e] ". The data directory was re-initialized and is probably empty: do not let a backup of it replace good ones; find out what happened (the data may have to come from the last good backup).")
    else if (Eps[e] != "-" && Es[e] == "-" && Ex[e] == 1)
      problem("the system identifier of " En[e] " cannot be read from " Ed[e] "/global/pg_control, so it cannot be checked against the pinned " Eps[e] ".")
  }

  for (i = 1; i <= ni; i++) {
    if (Iexp[i]) continue
    copy = ""
    for (e = 1; e <= ne; e++) if (Isid[i] != "" && (Isid[i] == Eps[e] || Isid[i] == Es[e])) copy = " It is a copy of " En[e] " (same system identifier) and may hold older or diverging data."
    if (Ictr[i] != "") {
      taken = ""
      for (e = 1; e <= ne; e++) if (Ion[i] != 1 && Iport[i] == Ep[e]) taken = " It answers on port " Ep[e] ", which belongs to " En[e] "."
      problem("a PostgreSQL in a container is running: " Ictr[i] ", pid " (Ipid[i] == "" ? "unknown" : Ipid[i]) (Idd[i] == "" ? "" : ", data directory " Idd[i] " inside it") ". It is not in the inventory; backups could dump it instead of the real database." taken copy)
      continue
    }
    owner = 0
    for (e = 1; e <= ne; e++) if (Iport[i] != "" && Iport[i] == Ep[e] && Ion[i] != 1) owner = e
    what = (Icl[i] == "" ? "" : "cluster " Icl[i] ", ") where(i) (Iprog[i] != "" && Iprog[i] != "postgres" ? " (program " Iprog[i] ")" : "")
    if (Idd[i] == "" && Isock[i] != "") what = what ", socket " Isock[i]
    r = Ir[i]
    if (r && !owner) {
      notes[++nn] = what " is " restore(r) (copy == "" ? "" : "; it has the system identifier of the original, but it is not the original") ". Drop it when done (pg_dropcluster --stop " Rv[r] " " Rc[r] ")."
      continue
    }
    if (r) copy = copy " It is " restore(r) "."
    if (Iwrong[i]) copy = copy " Its restore pin " Rf[Iwrong[i]] " says system identifier " Rs[Iwrong[i]] (Isid[i] == "" ? ", which cannot be read from it" : ", it holds " Isid[i]) ": the pin does not describe it."
    for (b = 1; b <= nb; b++) if (Icl[i] != "" && substr(Icl[i], index(Icl[i], "/") + 1) == RBc[b]) copy = copy " Its restore pin " RBf[b] " is not valid (" RBwhy[b] ")."
    if (owner)
      problem("port " Ep[owner] " is answered by another data directory: " what (Isid[i] == "" ? "" : ", system identifier " Isid[i]) ", not by " En[owner] " (" Ed[owner] "). A backup now would dump the wrong database, probably an empty one." copy)
    else
      problem("a second PostgreSQL is running: " what " (not in the inventory). Backups could dump the wrong one." copy)
  }

  # the expected ports held by programs that are not Postgres instances (a proxy, a pooler, a container port)
  for (e = 1; e <= ne; e++) for (l = 1; l <= nl; l++) {
    if (Lkind[l] != "tcp" || Lport[l] != Ep[e]) continue
    if (Lpid[l] != "" && (Lpid[l] in byPid)) continue
    if (Lsock[l] in Sown) continue
    if (Lpid[l] == "" && Em[e]) continue
    seen = Lpid[l] "/" e
    if (seen in held) continue
    held[seen] = 1
    problem("port " Ep[e] " is held by " (Lpid[l] == "" ? "an unknown program" : Lprog[l] " (pid " Lpid[l] ")") " on " Lat[l] ", not by " En[e] ": clients and backups using port " Ep[e] " there reach something else.")
  }

  # clusters configured here that nobody expects, and down now (a restore its pin describes: a note)
  for (c = 1; c <= nc; c++) {
    if (Cat[c]) continue
    known = 0
    for (e = 1; e <= ne; e++) if ((Cv[c] == Ev[e] && Cc[c] == Ec[e]) || Cd[c] == Ed[e]) known = 1
    if (known) continue
    for (r = 1; r <= nr; r++) if (!Rno[r] && Cv[c] == Rv[r] && Cc[c] == Rc[r] && Cd[c] == Rd[r]) known = r
    if (known) { Rseen[known] = 1; notes[++nn] = "cluster " Cv[c] "/" Cc[c] " (port " Cp[c] ", " Cd[c] ") is " restore(known) "; it is down"; continue }
    if (Cs[c] == "online")
      problem("cluster " Cv[c] "/" Cc[c] " (port " Cp[c] ", " Cd[c] ") is not in the inventory and pg_lsclusters reports it online, though no postgres process runs from its data directory.")
    else if (Csc[c] == "auto")
      problem("cluster " Cv[c] "/" Cc[c] " (port " Cp[c] ", " Cd[c] ") is configured here but not in the inventory; it is down now but starts at the next boot (start.conf: auto). Remove it (pg_dropcluster " Cv[c] " " Cc[c] ") or add it to extra_clusters.")
    else
      notes[++nn] = "cluster " Cv[c] "/" Cc[c] " (port " Cp[c] ", " Cd[c] ") is configured but not in the inventory; it is down (start.conf: " (Csc[c] == "-" ? "unknown" : Csc[c]) ")"
  }

  # postmaster.pid files whose postmaster is gone
  for (f = 1; f <= nf; f++) {
    if (Fst[f] == "alive") continue
    who = "the PostgreSQL there"
    for (e = 1; e <= ne; e++) if (Fd[f] == Ed[e]) who = "PostgreSQL " En[e]
    for (c = 1; c <= nc; c++) if (Fd[f] == Cd[c] && who == "the PostgreSQL there") who = "cluster " Cv[c] "/" Cc[c]
    if (Fst[f] == "garbled")
      problem("the postmaster.pid in " Fd[f] " has no process id on its first line: " who " may have crashed while starting or stopping; look at it before starting it again.")
    else if (Fst[f] == "dead")
      problem("a stale postmaster.pid in " Fd[f] " names pid " Fpid[f] ", which is not running: " who " was killed or crashed (see its log). Tools that read the pid file may misreport it until it starts cleanly.")
    else
      problem("a stale postmaster.pid in " Fd[f] " names pid " Fpid[f] ", which is now " (Fprog[f] == "-" ? "something else" : "another program (" Fprog[f] ")") ": " who " was killed or crashed, and its pid file now points at an unrelated process.")
  }

  for (b = 1; b <= nb; b++) notes[++nn] = "the restore pin " RBf[b] " is not believed (" RBwhy[b] "): the cluster it names is judged like any other"
  for (r = 1; r <= nr; r++) if (!Rno[r] && !Rinst[r] && !Rseen[r]) notes[++nn] = "the restore pin " Rf[r] " names " Rv[r] "/" Rc[r] " (" Rd[r] "), which is not here: a leftover of a dropped restore (remove the file)"
  for (p = 1; p <= np; p++) { s = problems[p]; gsub(/[\001-\037]/, " ", s); print "problem" T s }
  for (n = 1; n <= nn; n++) { s = notes[n]; gsub(/[\001-\037]/, " ", s); print "note" T s }
  print "census" T (np ? "problems" : "ok") T np + 0
  exit np ? 3 : 0
}' "$rec"
rc=$?
case $rc in
  0 | 3) exit "$rc" ;;
  *) echo "census: the judgement failed (awk exit $rc)" >&2; exit 1 ;;
esac
