# ic_lsclusters [CONF_ROOT [PROC [BIN_ROOT [OWNERS]]]]: the clusters of Debian's postgresql-common, as pg_lsclusters finds them,
# in POSIX sh and one awk run instead of Perl (~50 ms of CPU a call). CONF_ROOT defaults to $PG_CLUSTER_CONF_ROOT, else
# /etc/postgresql (as pg_lsclusters); PROC to /proc; BIN_ROOT to /usr/lib/postgresql; OWNERS 0: no owner (one stat fewer
# a cluster; the socket directory is then /var/run/postgresql).
# What it reads, as PgCommon.pm: ROOT/VERSION/CLUSTER/postgresql.conf (a dead link too) with its include, include_if_exists
# and include_dir files, then postgresql.auto.conf in the data directory (not for data_directory); the data directory from
# data_directory, else the pgdata link, else a configuration directory that is one; running: the external_pid_file's pid
# alive with "postgres" in its command line, else a listening socket SOCKETDIR/.s.PGSQL.PORT in PROC/net/unix; owner,
# recovery, supervisor (pacemaker, patroni), binaries_missing, start.conf, the startup log file.
# Differences, on purpose: a line it cannot parse is skipped with a warning on stderr (pg_lsclusters dies and lists
# nothing); a FIFO or device where a file is expected is not opened (pg_lsclusters would hang); include loops stop;
# names or paths holding a tab or a newline are skipped. Every value is data: nothing read is ever evaluated.
# Output: one line per cluster, by version then name, tab-separated, '-' when unknown:
#   VERSION CLUSTER PORT online|down FLAGS(comma-separated) OWNER DATA_DIRECTORY LOG_FILE CONFIG_DIRECTORY START
# Exit 0, also with no cluster; 1 when awk failed. It asks the file system in rounds (awk cannot test files): each run of
# awk prints the questions it has (need KIND PATH) until none is left; Debian's layout is answered in advance.
ic_lsclusters() {
  _lsc_root=${1:-${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}}
  _lsc_proc=${2:-/proc}
  _lsc_bin=${3:-/usr/lib/postgresql}
  _lsc_owners=${4:-1}
  _lsc_t='	'
  _lsc_nl='
'
  _lsc_in=
  for _lsc_c in "$_lsc_root"/*/* "$_lsc_root"/*/.[!.]* "$_lsc_root"/*/..?*; do
    [ -e "$_lsc_c/postgresql.conf" ] || [ -L "$_lsc_c/postgresql.conf" ] || continue
    _lsc_n=${_lsc_c##*/}
    _lsc_v=${_lsc_c%/*}
    _lsc_v=${_lsc_v##*/}
    case $_lsc_v in '' | *[!0-9.]*) continue ;; esac
    case $_lsc_n in *"$_lsc_t"* | *"$_lsc_nl"*) echo "lsclusters: skipped a cluster of $_lsc_v whose name holds a tab or a newline" >&2; continue ;; esac
    _lsc_in="$_lsc_in${_lsc_nl}C$_lsc_t$_lsc_v$_lsc_t$_lsc_n"
    # Debian's layout, answered in advance so that one awk run is enough
    for _lsc_q in "t $_lsc_c/postgresql.conf" "l $_lsc_c/conf.d" "k $_lsc_c/pgdata" "k $_lsc_c" "t $_lsc_c/PG_VERSION" \
      "t $_lsc_c/start.conf" "k $_lsc_c/log" "t /var/run/postgresql/$_lsc_v-$_lsc_n.pid" "t $_lsc_bin/$_lsc_v/bin/postgres"; do
      _lsc_answer "${_lsc_q%% *}" "${_lsc_q#* }"
    done
    _lsc_d=/var/lib/postgresql/$_lsc_v/$_lsc_n
    if [ -d "$_lsc_d" ]; then
      for _lsc_q in "t $_lsc_d/postgresql.auto.conf" "t $_lsc_d/recovery.signal" "t $_lsc_d/standby.signal" "u$_lsc_owners $_lsc_d"; do
        _lsc_answer "${_lsc_q%% *}" "${_lsc_q#* }"
      done
    fi
  done
  [ -n "$_lsc_in" ] || return 0
  _lsc_round=0
  while :; do
    _lsc_last=0
    [ "$_lsc_round" -lt 4 ] || _lsc_last=1
    _lsc_out=$(printf '%s\n' "$_lsc_in" | LC_ALL=C awk -v last="$_lsc_last" -v owners="$_lsc_owners" -v root="$_lsc_root" -v proc="$_lsc_proc" -v bin="$_lsc_bin" "$_lsc_awk") || {
      echo 'lsclusters: awk failed' >&2
      return 1
    }
    case $_lsc_out in "need$_lsc_t"*) ;; *) break ;; esac
    while IFS= read -r _lsc_l; do
      _lsc_l=${_lsc_l#need"$_lsc_t"}
      _lsc_answer "${_lsc_l%%"$_lsc_t"*}" "${_lsc_l#*"$_lsc_t"}"
    done <<LSC_EOF
$_lsc_out
LSC_EOF
    _lsc_round=$((_lsc_round + 1))
  done
  [ -z "$_lsc_out" ] || printf '%s\n' "$_lsc_out"
}

# _lsc_answer KIND PATH: append what awk asked to its input. t: f (a regular file, also through a link), d (a
# directory), o (something else), m (nothing); k: a symbolic link's target (empty: not a link); l: the *.conf regular
# files of a directory (D, then L each); u: the owner (UID:NAME, empty when unknown; u0: not asked).
_lsc_answer() {
  case $2 in *"$_lsc_t"* | *"$_lsc_nl"* | '') return 0 ;; esac
  case $1 in
    t)
      if [ -f "$2" ]; then _lsc_k=f; elif [ -d "$2" ]; then _lsc_k=d; elif [ -e "$2" ]; then _lsc_k=o; else _lsc_k=m; fi
      _lsc_in="$_lsc_in${_lsc_nl}T$_lsc_t$_lsc_k$_lsc_t$2"
      ;;
    k)
      _lsc_k=
      if [ -L "$2" ]; then _lsc_k=$(readlink -- "$2" 2>/dev/null) || _lsc_k=; fi
      case $_lsc_k in *"$_lsc_t"* | *"$_lsc_nl"*) return 0 ;; esac
      _lsc_in="$_lsc_in${_lsc_nl}K$_lsc_t$_lsc_k$_lsc_t$2"
      ;;
    l)
      _lsc_in="$_lsc_in${_lsc_nl}D$_lsc_t$_lsc_t$2"
      [ -d "$2" ] || return 0
      for _lsc_f in "$2"/*.conf; do
        [ -f "$_lsc_f" ] || continue
        case $_lsc_f in *"$_lsc_t"* | *"$_lsc_nl"*) continue ;; esac
        _lsc_in="$_lsc_in${_lsc_nl}L$_lsc_t$_lsc_t$_lsc_f"
      done
      ;;
    u | u1)
      _lsc_k=$(stat -L -c '%u:%U' -- "$2" 2>/dev/null) || _lsc_k=
      case $_lsc_k in *"$_lsc_t"* | *"$_lsc_nl"*) _lsc_k= ;; esac
      _lsc_in="$_lsc_in${_lsc_nl}U$_lsc_t$_lsc_k$_lsc_t$2"
      ;;
  esac
}

# The awk program: input lines KIND<TAB>VALUE<TAB>PATH (C: VERSION<TAB>NAME), output the clusters or the questions.
# shellcheck disable=SC2016 # awk's own $1, not the shell's
_lsc_awk='
function rest(   s) { s = substr($0, index($0, "\t") + 1); return substr(s, index(s, "\t") + 1) }
function ask(kind, p) { if (!last && !((kind SUBSEP p) in asked)) { asked[kind, p] = 1; needs[++nn] = kind "\t" p } }
function typ(p) { if (p in T) return T[p]; if (p !~ /[\t\n]/) ask("t", p); return "m" }
function lnk(p) { if (p in K) return K[p]; if (p !~ /[\t\n]/) ask("k", p); return "" }
function owner(p) { if (p in U) return U[p]; if (owners != "0" && p !~ /[\t\n]/) ask("u", p); return "" }
function warn(s) { warned[s] = 1 }
function clean(s) { gsub(/[\001-\037\177]/, "?", s); return s == "" ? "-" : s }
function absolute(p, parent) { if (p ~ /^\//) return p; sub(/\/[^\/]*$/, "", parent); return parent "/" p }
function word(s, w) { return match(s, "(^|[^A-Za-z0-9_])" w "([^A-Za-z0-9_]|$)") }
# include FILE: read it into cf[] when it is a regular file (a directory or a missing file adds nothing, as in Perl)
function readconf(path, depth,   line, n, lower, m, k, v, i, c, r, files, nf, j) {
  if (typ(path) != "f") return
  if (depth > 10 || (path in active)) { warn("lsclusters: " path " includes itself: the loop was not followed"); return }
  active[path] = 1
  lower = path ~ /\.conf$/
  n = 0
  while ((r = (getline line < path)) > 0) {
    n++
    if (line ~ BLANK) continue
    if (tolower(line) ~ INCDIR) {
      v = substr(line, index(line, Q) + 1); v = substr(v, 1, index(v, Q) - 1)
      v = absolute(v, path)
      if (!(v in D)) { ask("l", v); continue }
      nf = split(D[v], files, "\n")
      for (j = 2; j <= nf; j++) readconf(files[j], depth + 1)
      continue
    }
    if (tolower(line) ~ INCLUDE) {
      v = substr(line, index(line, Q) + 1); v = substr(v, 1, index(v, Q) - 1)
      readconf(absolute(v, path), depth + 1)
      continue
    }
    if (!match(line, "^" S "*[a-zA-Z0-9_.-]+")) { warn("lsclusters: invalid line " n " in " path ": skipped"); continue }
    k = substr(line, RSTART, RLENGTH); sub("^" S "*", "", k)
    m = substr(line, RSTART + RLENGTH)
    if (match(m, "^" S "*=" S "*")) m = substr(m, RLENGTH + 1)
    else if (match(m, "^" S "+")) m = substr(m, RLENGTH + 1)
    else { warn("lsclusters: invalid line " n " in " path ": skipped"); continue }
    v = ""; c = 0
    if (substr(m, 1, 1) == Q) {
      for (i = 2; i <= length(m); i++) {
        c = substr(m, i, 1)
        if (c == "\\" && i < length(m)) { v = v substr(m, i + 1, 1); i++; continue }
        if (c == Q && substr(m, i + 1, 1) == Q) { v = v Q; i++; continue }
        if (c == Q) break
        v = v c
      }
      if (c != Q || substr(m, i + 1) !~ BLANK) { warn("lsclusters: invalid line " n " in " path ": skipped"); continue }
    } else if (match(m, "^-?[A-Za-z0-9][A-Za-z0-9._:/+-]*") && substr(m, RLENGTH + 1) ~ BLANK) {
      v = substr(m, 1, RLENGTH)
    } else { warn("lsclusters: invalid line " n " in " path ": skipped"); continue }
    if (lower) k = tolower(k)
    cf[k] = v
  }
  if (r < 0) warn("lsclusters: " path " cannot be read")
  close(path)
  delete active[path]
}
# the data directory: data_directory, else the pgdata link, else a configuration directory holding PG_VERSION
function datadir(cd,   d) {
  d = ("data_directory" in cf) ? cf["data_directory"] : ""
  if (d == "" || d == "0") d = lnk(cd "/pgdata")
  if (d == "" && lnk(cd) != "" && typ(cd "/PG_VERSION") == "f") d = lnk(cd)
  if (d == "" && typ(cd "/PG_VERSION") == "f") d = cd
  return d
}
# 1 running, 0 not, "" unknown: the external pid file names a live process whose command line says postgres
function pidfile(p,   t, pid, cmd, line) {
  t = typ(p)
  if (t == "m") return 0
  if (t != "f" || (getline pid < p) <= 0) { close(p); return "" }
  close(p)
  if (pid !~ /^[0-9]+[ \t\r]*$/ || pid + 0 == 0) return ""
  pid = pid + 0
  if ((getline cmd < (proc "/" pid "/cmdline")) < 0) return ""
  close(proc "/" pid "/cmdline")
  supervisor = ""
  while ((getline line < (proc "/" pid "/cgroup")) > 0)
    if (supervisor == "" && word(line, "(pacemaker|patroni)")) supervisor = (word(line, "pacemaker") ? "pacemaker" : "patroni")
  close(proc "/" pid "/cgroup")
  return (cmd != "" && word(cmd, "postgres")) ? 1 : 0
}
# running by the socket: a listening unix socket at DIR/.s.PGSQL.PORT (what a connect would reach)
function listening(path,   line, f, n) {
  if (!unixread) {
    unixread = 1
    while ((getline line < (proc "/net/unix")) > 0) { n = split(line, f, " "); if (n >= 8 && f[4] == "00010000") sock[f[8]] = 1 }
    close(proc "/net/unix")
  }
  return (path in sock) ? 1 : 0
}
function startconf(cd,   p, t, line, r, s) {
  p = cd "/start.conf"; t = typ(p)
  if (t != "f") return "auto"
  s = "auto"
  while ((r = (getline line < p)) > 0) {
    sub(/#.*$/, "", line); gsub("^" S "+|" S "+$", "", line)
    if (line == "") continue
    if (match(line, /^(auto|manual|disabled)/)) s = substr(line, 1, RLENGTH)
    else { warn("lsclusters: invalid mode in " p ": " line); s = "" }
    break
  }
  close(p)
  return s
}
function cluster(v, c,   cd, keys, k, d, dd, port, run, flags, own, lf, sd, st, id) {
  cd = root "/" v "/" c
  split("", cf); supervisor = ""
  readconf(cd "/postgresql.conf", 0)
  if (v + 0 >= 9.4) {
    dd = datadir(cd)
    id = ("data_directory" in cf); d = cf["data_directory"]
    if (dd != "") readconf(dd "/postgresql.auto.conf", 0)
    if (id) cf["data_directory"] = d; else delete cf["data_directory"]
  }
  keys = 0
  for (k in cf) keys++
  d = datadir(cd)
  flags = typ(bin "/" v "/bin/postgres") == "m" ? "binaries_missing" : ""
  if (!keys) return clean(v) "\t" clean(c) "\t-\tdown\t" clean(flags) "\t-\t" clean(d) "\t-\t" clean(cd) "\t-"
  port = (("port" in cf) && cf["port"] != "" && cf["port"] != "0") ? cf["port"] : "5432"
  run = ""
  if (("external_pid_file" in cf) && cf["external_pid_file"] != "" && cf["external_pid_file"] != "(none)") run = pidfile(cf["external_pid_file"])
  if (run == "") {
    k = (v + 0 >= 9.3) ? "unix_socket_directories" : "unix_socket_directory"
    sd = (k in cf) ? cf[k] : ""
    sub(S "*,.*$", "", sd)
    if (sd == "") { sd = "/var/run/postgresql"; if (d != "" && owner(sd) != owner(d)) sd = "/tmp" }
    run = (port ~ /[0-9]/) ? listening(sd "/.s.PGSQL." port) : 0
  }
  own = "-"
  if (d != "") {
    own = owner(d); sub(/^[^:]*:/, "", own)
    if (own == "UNKNOWN") own = ""
    if (v + 0 >= 12) k = (typ(d "/recovery.signal") != "m" || typ(d "/standby.signal") != "m")
    else k = (typ(d "/recovery.conf") != "m")
    if (k) flags = "recovery" (flags == "" ? "" : "," flags)
  }
  if (supervisor != "") flags = (flags ~ /^recovery/ ? "recovery," supervisor substr(flags, 9) : supervisor (flags == "" ? "" : "," flags))
  lf = lnk(cd "/log"); if (lf == "") lf = "/var/log/postgresql/postgresql-" v "-" c ".log"
  st = startconf(cd)
  return clean(v) "\t" clean(c) "\t" clean(port) "\t" (run ? "online" : "down") "\t" clean(flags) "\t" clean(own) "\t" clean(d) "\t" clean(lf) "\t" clean(cd) "\t" clean(st)
}
function before(i, j) { return Cv[i] + 0 < Cv[j] + 0 || (Cv[i] + 0 == Cv[j] + 0 && (Cv[i] < Cv[j] || (Cv[i] == Cv[j] && Cn[i] < Cn[j]))) }
BEGIN {
  FS = "\t"; Q = "\047"; S = "[ \t\r\f\013]"; TAIL = S "*(#.*)?$"; BLANK = "^" TAIL
  INCDIR = "^" S "*include_dir" S "*=?" S "*" Q "[^" Q "]+" Q TAIL
  INCLUDE = "^" S "*include(_if_exists)?" S "*=?" S "*" Q "[^" Q "]+" Q TAIL
}
$1 == "C" { if ($2 ~ /^[0-9]+\.?[0-9]+$/) { nc++; Cv[nc] = $2; Cn[nc] = substr($0, length($2) + 4) } ; next }
$1 == "T" { T[rest()] = $2; next }
$1 == "K" { K[rest()] = $2; next }
$1 == "U" { U[rest()] = $2; next }
$1 == "D" { D[rest()] = D[rest()]; next }
$1 == "L" { p = rest(); d = p; sub(/\/[^\/]*$/, "", d); D[d] = D[d] "\n" p; T[p] = "f"; next }
END {
  for (i = 1; i <= nc; i++) order[i] = i
  for (i = 2; i <= nc; i++) for (j = i; j > 1 && before(order[j], order[j - 1]); j--) { x = order[j]; order[j] = order[j - 1]; order[j - 1] = x }
  for (i = 1; i <= nc; i++) out[i] = cluster(Cv[order[i]], Cn[order[i]])
  if (nn && !last) { for (i = 1; i <= nn; i++) print "need\t" needs[i]; exit 0 }
  for (s in warned) print s > "/dev/stderr"
  for (i = 1; i <= nc; i++) print out[i]
}'
