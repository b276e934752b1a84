# --- body: a restore drill on a host that holds the decryption identity (POSIX sh, started as root). ---
# DIR (rendered above) holds the fetched, decrypted backup. Nothing from the backup runs with privilege: a scratch
# cluster is made by an unprivileged OS user (ironclad-drill), listening on a socket in its own 0700 folder only; the
# dump is restored by a role without superuser; the row counts are read by the scratch cluster's own superuser with a
# query that runs no function of the backup's. Everything is removed afterwards, whatever happens.
# Prints `@@server BIN`, `@@restore EXIT`, `@@log LINE` (the restore's errors) and `@@counts TABLES ROWS JSON ...` (counts.sql).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
U=ironclad-drill
fail() { printf 'ironclad-drill: %s\n' "$*" >&2; exit 1; }
cd / || exit 1
# one drill at a time on this host (each ends every process of the drill user)
mkdir -p /var/lib/ironclad
exec 9> /var/lib/ironclad/drill.lock
flock -w 3600 9 || fail "another restore drill holds this host"
id -u "$U" > /dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$U" || fail "cannot create the user $U"
bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4 -n | tail -n 1)
[ -x "$bin/initdb" ] || fail "no PostgreSQL server binaries on this host for a restore drill"
scratch=$(mktemp -d /var/tmp/ironclad-drill.XXXXXX) || fail "no scratch folder"
logs=$(mktemp -d /var/tmp/ironclad-drill-logs.XXXXXX) || fail "no folder for logs"  # root's: the drill user cannot plant links there
cleanup() {
  [ ! -f "$scratch/data/postmaster.pid" ] || runuser -u "$U" -- "$bin/pg_ctl" -D "$scratch/data" -m immediate stop > /dev/null 2>&1
  # whatever the restored code left running as the drill's own user ends with the drill (a dedicated user: nothing else runs as it)
  pkill -KILL -U "$U" 2> /dev/null
  rm -rf "$scratch" "$logs" "$DIR"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
chown "$U:" "$scratch" && chmod 700 "$scratch"
as() { runuser -u "$U" -- "$@"; }
pkill -KILL -U "$U" 2> /dev/null  # (nothing of an earlier drill waits for this one)
as "$bin/initdb" -D "$scratch/data" -U "$U" -A trust -E UTF8 --locale C.UTF-8 --no-sync > "$logs/initdb.log" 2>&1 || fail "initdb failed: $(tail -n 2 "$logs/initdb.log")"
# (the server's own log is the drill user's file: root reads it only as that user)
as "$bin/pg_ctl" -D "$scratch/data" -w -l "$scratch/server.log" -o "-p 5432 -k $scratch -c listen_addresses='' -c fsync=off -c full_page_writes=off" start > /dev/null 2>&1 ||
  fail "the scratch server did not start: $(as tail -n 2 "$scratch/server.log")"
sql() { as "$bin/psql" -X -A -t -q -v ON_ERROR_STOP=1 -F '	' -h "$scratch" -p 5432 -U "$@"; }
printf '%s\n' 'CREATE ROLE drill LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;' 'CREATE DATABASE drill OWNER drill;' | sql "$U" -d postgres > /dev/null || fail "cannot create the drill's role and database"
# the dump moves into the drill user's own folder (DIR's parents are root's alone)
if [ -d "$DIR/dump" ]; then src="$scratch/dump"; else src="$scratch/dump.pgdump"; fi
if ! mv "${DIR}/${src##*/}" "$src" || ! chown -R "$U:" "$src"; then fail "cannot hand the dump to $U"; fi
printf '@@server %s\n' "$bin"
rc=0
as "$bin/pg_restore" -h "$scratch" -p 5432 -U drill -d drill --no-owner --no-acl -j "$(nproc 2> /dev/null || echo 2)" "$src" > "$logs/restore.log" 2>&1 || rc=$?
printf '@@restore %s\n' "$rc"
grep -E 'error:|ERROR:' "$logs/restore.log" | head -n 20 | sed 's/^/@@log /'
sql "$U" -d drill << 'SQL' || fail "counting the restored rows failed"
@@COUNT_SQL@@
SQL
