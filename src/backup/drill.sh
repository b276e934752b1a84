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
# What a role without superuser cannot restore, as the refresh does it (src/refresh/prepare.ts): the dump's schemas
# are restored first by the role, then its extensions are created by the scratch cluster's superuser from this host's
# packages (the database holds only empty schemas then; each name and schema goes to psql as a variable it quotes,
# never into the text), then the rest by the role. Event triggers and subscriptions are left out and named.
toc() { grep -E "^[0-9]+; [0-9]+ [0-9]+ ($1) " "$logs/toc"; }
as "$bin/pg_restore" -l "$src" > "$logs/toc" 2> "$logs/toc.err" || fail "cannot list the dump: $(tail -n 2 "$logs/toc.err")"
# (the lists are root's files the drill user may read by name: $logs becomes 0711, each list 0644)
chmod 711 "$logs"
list() { : > "$logs/$1.list" && chmod 644 "$logs/$1.list" && cat > "$logs/$1.list"; }
toc 'SCHEMA -' | list schemas
as "$bin/pg_restore" -h "$scratch" -p 5432 -U drill -d drill --no-owner --no-acl -L "$logs/schemas.list" "$src" > "$logs/schemas.log" 2>&1 ||
  fail "restoring the dump's schemas failed: $(grep -m 2 -E 'error:|ERROR:' "$logs/schemas.log")"
wanted=$(toc 'EXTENSION -' | wc -l)
if [ "$wanted" -gt 0 ]; then
  # each `CREATE EXTENSION IF NOT EXISTS NAME WITH SCHEMA SCHEMA;` as NAME<tab>SCHEMA, unquoted (anything else: skipped)
  as "$bin/pg_restore" --section=pre-data -f - "$src" 2> /dev/null | awk '
    function ident(s) {
      if (s ~ /^[a-z_][a-z0-9_$]*$/) return s
      if (s !~ /^"([^"\t]|"")+"$/) return ""
      s = substr(s, 2, length(s) - 2); gsub(/""/, "\"", s); return s
    }
    index($0, "CREATE EXTENSION IF NOT EXISTS ") == 1 && /;$/ {
      rest = substr($0, 32, length($0) - 32)
      if (substr(rest, 1, 1) == "\"") {
        i = 2
        while (i <= length(rest)) { c = substr(rest, i, 1); if (c != "\"") i++; else if (substr(rest, i + 1, 1) == "\"") i += 2; else break }
        n = substr(rest, 1, i); rest = substr(rest, i + 1)
      } else { j = index(rest, " "); if (!j) next; n = substr(rest, 1, j - 1); rest = substr(rest, j) }
      if (index(rest, " WITH SCHEMA ") != 1) next
      name = ident(n); schema = ident(substr(rest, 14))
      if (name != "" && schema != "") printf "%s\t%s\n", name, schema
    }' > "$logs/extensions"
  [ "$(wc -l < "$logs/extensions")" -eq "$wanted" ] || fail "the dump names $wanted extensions; only $(wc -l < "$logs/extensions") could be read"
  while IFS='	' read -r ext schema; do
    printf '%s\n' 'CREATE EXTENSION IF NOT EXISTS :"e" WITH SCHEMA :"s";' | sql "$U" -d drill -v "e=$ext" -v "s=$schema" > /dev/null 2> "$logs/ext.err" ||
      fail "this host cannot create the dump's extension $ext: $(head -n 2 "$logs/ext.err") (install its package here)"
  done < "$logs/extensions"
fi
toc 'EVENT TRIGGER|SUBSCRIPTION|SUBSCRIPTION TABLE' | sed 's/^[0-9]*; [0-9]* [0-9]* /@@note left out (superuser only; never in a copy): /'
# (publications too: a FOR ALL TABLES one is for superusers, and a drill proves rows, not what production publishes)
toc 'PUBLICATION|PUBLICATION TABLE|PUBLICATION TABLES IN SCHEMA' | sed 's/^[0-9]*; [0-9]* [0-9]* /@@note left out (a drill never publishes): /'
rc=0
# (a comment or security label on a left-out object goes with it: restored alone it would fail, the object not being there)
# (LEFT_OUT and NOTE_ON_LEFT_OUT: rendered from src/core/toc.ts, the refresh's own list of what a copy never restores)
grep -v -E -e '^[0-9]+; [0-9]+ [0-9]+ (SCHEMA -|EXTENSION -|COMMENT - EXTENSION) ' -e "$LEFT_OUT" -e "$NOTE_ON_LEFT_OUT" "$logs/toc" | list rest
as "$bin/pg_restore" -h "$scratch" -p 5432 -U drill -d drill --no-owner --no-acl -L "$logs/rest.list" -j "$(nproc 2> /dev/null || echo 2)" "$src" > "$logs/restore.log" 2>&1 || rc=$?
printf '@@restore %s\n' "$rc"
grep -E 'error:|ERROR:' "$logs/restore.log" | head -n 20 | sed 's/^/@@log /'
sql "$U" -d drill << 'SQL' || fail "counting the restored rows failed"
@@COUNT_SQL@@
SQL
