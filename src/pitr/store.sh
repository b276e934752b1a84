# --- body: continuous archiving on the store (POSIX sh). ROOT, MIN_FREE, HOSTS, SPOOL, CONF, PGBIN, TMPFS_SIZE, POLL,
# ALERT, SHARED_USER, LOCK_WAIT are rendered above by `ironclad apply` (HOSTS: one line per database host, `HOST ADDR
# PORT CLUSTER STALL_S USER`: USER, PITR_USER once the host is loaded, is that host's own; SHARED_USER the one all hosts
# had before; LOCK_WAIT: the seconds a receiver's start waits for the receiver's lock).
# The store pulls: pg_receivewal on the host's slot into a tmpfs spool, each completed segment compressed and
# age-encrypted into ROOT/pitr/HOST/wal/ (fsync, rename, fsync) before its plaintext goes; pg_basebackup likewise into ROOT/pitr/HOST/base/.
# Everything the database host sends is hostile: names are checked against fixed shapes, sizes bounded, no path from
# the stream is followed, times are data (the store's clock says when WAL last arrived), the disk keeps MIN_FREE.
# Privileges are separated: every program that parses what the host sends or wrote (pg_receivewal, pg_basebackup, psql,
# pg_waldump, tar) runs as PITR_USER (as_pitr), never root, and the spool SP is that user's; root keeps the archive and
# its own files (ST: logs, the placeholder's name, the passfile it hands PITR_USER) and reads the spool only as PITR_USER.
#   ironclad-pitr receive HOST [--keepalive] | base HOST | prune HOST BASES DAYS [--dry-run] | status [HOST] | health [--no-alert]
#   ironclad-pitr record HOST < drill.json | partial HOST SEGMENT (sudo, for readers) | reader H,... pitr-VERB ...
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C TZ=UTC
umask 027
cd / || exit 1

die() { printf 'ironclad-pitr: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'ironclad-pitr: refused: %s\n' "$*" >&2; exit 3; }
say() { printf '%s ironclad-pitr %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
host_ok() { case "$1" in '' | .* | *[!A-Za-z0-9._-]*) return 1 ;; *) [ "${#1}" -le 100 ] ;; esac; }
hex_ok() { case "$1" in *[!0-9A-F]*) return 1 ;; *) [ "${#1}" -eq "$2" ] ;; esac; }
seg_ok() { hex_ok "$1" 24; }
hist_ok() { case "$1" in *.history) hex_ok "${1%.history}" 8 ;; *) return 1 ;; esac; }
id_ok() { case "$1" in [0-9][0-9][0-9][0-9][0-1][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9][0-5][0-9]Z) ;; *) return 1 ;; esac; }
lsn_ok() { # X/Y, each 1 to 8 upper-case hex digits
  case "$1" in */*) ;; *) return 1 ;; esac
  set -- "${1%%/*}" "${1#*/}"
  [ -n "$1" ] && [ -n "$2" ] && [ "${#1}" -le 8 ] && [ "${#2}" -le 8 ] && case "$1$2" in *[!0-9A-F]*) return 1 ;; esac
}
alert() { say "ALERT $*"; [ -z "$ALERT" ] || sh -c "$ALERT \"\$1\"" ironclad-alert "ironclad pitr $(hostname): $*" || true; }

# load HOST: its line of HOSTS (unknown hosts are refused), its paths
load() {
  host_ok "$1" || die "bad host name '$1'"
  line=$(printf '%s\n' "$HOSTS" | awk -v h="$1" '$1 == h { print; exit }')
  [ -n "$line" ] || die "$1 does not archive here"
  # shellcheck disable=SC2086
  set -- $line
  H=$1 ADDR=$2 PORT=$3 CLUSTER=$4 STALL=$5 PITR_USER=${6:-}
  case "$PITR_USER" in "$SHARED_USER"-* | "$SHARED_USER"_*) ;; *) die "$H has no receiving user of its own: run ironclad apply" ;; esac
  A="$ROOT/pitr/$H" WAL="$ROOT/pitr/$H/wal" BASE="$ROOT/pitr/$H/base" INDEX="$ROOT/pitr/$H/wal.index" SP="$SPOOL/$H"
  ST="$SPOOL/.state/$H" RECIP="$CONF/$H.recipients"
  CONN="host=$ADDR port=$PORT user=ironclad_wal dbname=replication passfile=$ST/pgpass connect_timeout=10 keepalives_idle=10 keepalives_interval=5 keepalives_count=3 tcp_user_timeout=30000 application_name=ironclad_pitr"
}

# as_pitr CMD...: CMD as PITR_USER, never root: no way back (no new privileges: no setuid program, no sudo; no
# capabilities), a clean environment (nothing of root's, no password), none of root's locks (fds 7, 9)
pitr_exec() { exec setpriv --reuid="$PITR_USER" --regid="$PITR_USER" --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all -- env -i PATH="$PATH" LC_ALL=C TZ=UTC HOME=/nonexistent "$@"; }
as_pitr() { (pitr_exec "$@") 7>&- 9>&-; }

# state_dirs (after load): SPOOL and the host's state folder ST, root's (each host's user may only pass through to its
# own), and the passfile PITR_USER reads there: a copy of root's (CONF), 0400, its alone; never on a command line
state_dirs() {
  id -u "$PITR_USER" > /dev/null 2>&1 || die "no user $PITR_USER on this store (pg_receivewal never runs as root): run ironclad apply"
  mkdir -p "$ST" && chown root:root "$SPOOL" "$SPOOL/.state" && chmod 711 "$SPOOL" "$SPOOL/.state" && chown root:"$PITR_USER" "$ST" && chmod 710 "$ST" || die "cannot make $ST"
  [ -s "$CONF/$H.pgpass" ] || die "no archiving password of $H ($CONF/$H.pgpass): run ironclad apply"
  cmp -s "$CONF/$H.pgpass" "$ST/pgpass" 2> /dev/null ||
    { install -m 400 -o "$PITR_USER" -g "$PITR_USER" "$CONF/$H.pgpass" "$ST/.pgpass.$$" && mv -f "$ST/.pgpass.$$" "$ST/pgpass"; } || die "cannot hand $PITR_USER the archiving password of $H"
}

# plain NAME: NAME in the spool is a regular file of PITR_USER's with one link (find -P: no link is followed). What
# PITR_USER leaves there may be hostile: a symbolic link to /etc/shadow, a hard link to a file of another host
plain() { [ -n "$(find -P "$SP" -mindepth 1 -maxdepth 1 -name "$1" -type f -user "$PITR_USER" -links 1 -print -quit 2> /dev/null)" ]; }

# room NEED: bytes that may still be written keeping MIN_FREE free on ROOT's disk (exit 1 when fewer than NEED)
room() {
  df -Pk "$ROOT" | awk -v need="${1:-0}" -v min="$MIN_FREE" 'NR == 2 {
    total = $2 * 1024; avail = $4 * 1024; n = min + 0; u = substr(min, length(n "") + 1)
    if (u == "%") floor = total * n / 100; else floor = n * (u ~ /^K/ ? 1024 : u ~ /^M/ ? 1048576 : u ~ /^G/ ? 1073741824 : u ~ /^T/ ? 1099511627776 : 1)
    if (avail - need < floor) exit 1
    printf "%.0f\n", avail - floor }'
}

# squeeze: stdin compressed to stdout: zstd -1 (on a 700 MB tar here: 5.5x gzip -1's speed, zstd -d 6x gzip -d's), gzip -1 on a store without
# zstd; the restore's zstd -d reads both (the files keep their .gz.age names from the days of gzip)
squeeze() { if command -v zstd > /dev/null; then zstd -1 -q -c; else gzip -1; fi; }

# seal FILE MAX [SPOOLED]: encrypt stdin (or SPOOLED, a file of the spool, read as PITR_USER: a link swapped in reads
# nothing of root's), compressed (squeeze), with age to HOST's recipients into FILE (at most MAX bytes), fsynced, renamed
seal() {
  out=$1 max=$2 tmp="$(dirname "$1")/.$(basename "$1").$$"
  [ -s "$RECIP" ] || { rm -f "$tmp"; die "no recipients for $H ($RECIP): run ironclad apply"; }
  if [ -n "${3:-}" ]; then { as_pitr cat -- "$3" || echo read > "$tmp.rc"; } | sealed "$tmp" "$max"; else sealed "$tmp" "$max"; fi
  if [ -e "$tmp.rc" ] || [ "$(head -c 21 "$tmp")" != age-encryption.org/v1 ] || [ "$(stat -c %s "$tmp")" -ge "$max" ]; then
    rm -f "$tmp" "$tmp.rc"; return 1
  fi
  chmod 440 "$tmp" && sync "$tmp" && mv -f "$tmp" "$out" && sync "$(dirname "$out")"
}
sealed() { { squeeze || echo squeeze > "$1.rc"; } | age -R "$RECIP" | head -c "$2" > "$1"; }

# commit_of SPOOLED_SEGMENT: the newest commit time pg_waldump (run as PITR_USER) finds in it (ISO 8601 UTC, microseconds) or '-'
commit_of() {
  as_pitr timeout 60 "$PGBIN/pg_waldump" "$1" 2> /dev/null | awk '
    / desc: COMMIT(_PREPARED)? [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)? UTC/ {
      s = $0; sub(/.* desc: COMMIT(_PREPARED)? /, "", s); t = substr(s, 1, index(s, " UTC") - 1)
      if (index(t, ".") == 0) t = t ".000000"; while (length(t) < 26) t = t "0"; t = substr(t, 1, 26)
      sub(/ /, "T", t); last = t "Z" }
    END { print (last == "" ? "-" : last) }'
}
