# --- body: prove a restored cluster (POSIX sh, as root on the drill host). ---
# Rendered above: VERSION, PGPORT, DBS (the databases to count and check). Queries run as the cluster's superuser
# with search_path pg_catalog only (the application's functions and operators are never found), and run nothing of
# the restored data's own. Prints @@heartbeat TIME|none, then per database @@db NAME, its row counts (@@counts, as the
# backup job counts them) and @@amcheck NAME ok N | @@amcheck NAME failed MESSAGE (bt_index_check on every btree index).
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C TZ=UTC
cd / || exit 1
# psql_ DATABASE: the statements on stdin; the database in PGDATABASE (libpq never reads options from it, as it reads a
# `-d` value holding '=')
psql_() { PGDATABASE=$1 runuser -u postgres -- "/usr/lib/postgresql/$VERSION/bin/psql" -X -A -t -q -v ON_ERROR_STOP=1 -F '	' -h /var/run/postgresql -p "$PGPORT"; }
hb=$(printf '%s\n' "SET search_path = pg_catalog, pg_temp;" \
  "SELECT CASE WHEN to_regclass('ironclad.heartbeat') IS NULL THEN 'none' ELSE 'table' END;" | psql_ postgres) || { echo 'ironclad-pitr-drill: the restored cluster does not answer' >&2; exit 1; }
if [ "$hb" = table ]; then
  hb=$(printf '%s\n' "SET search_path = pg_catalog, pg_temp;" \
    "SELECT coalesce(to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'none') FROM ironclad.heartbeat;" | psql_ postgres) || hb=none
fi
printf '@@heartbeat %s\n' "$hb"
for db in $DBS; do
  printf '@@db %s\n' "$db"
  psql_ "$db" << 'SQL' || printf '@@countfail %s\n' "$db"
@@COUNT_SQL@@
SQL
  # amcheck lives in a schema of its own, made by the superuser (never in the application's public)
  out=$(psql_ "$db" 2>&1 << 'SQL'
SET client_min_messages = warning;
SET search_path = pg_catalog, pg_temp;
CREATE SCHEMA IF NOT EXISTS ironclad_amcheck AUTHORIZATION postgres;
CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA ironclad_amcheck;
SELECT count(ironclad_amcheck.bt_index_check(c.oid::regclass))
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
 WHERE a.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid;
SQL
  )
  case "$out" in
    *[!0-9]* | '') printf '@@amcheck %s failed %s\n' "$db" "$(printf '%s' "$out" | tr -c '[:print:]' ' ' | cut -c 1-300)" ;;
    *) printf '@@amcheck %s ok %s\n' "$db" "$out" ;;
  esac
done
