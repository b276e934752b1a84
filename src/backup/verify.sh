# --- ironclad backup verification on the store (POSIX sh, run as root). Args: DIR [--restore]. ---
# Prints `problem<TAB>text` lines and a final `result<TAB>json`; exit 0 verified, 3 a problem found, 1 could not check.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
dir=$1 restore=${2:-}
problems=0
problem() { printf 'problem\t%s\n' "$*"; problems=$((problems + 1)); }
[ -f "$dir/manifest.json" ] || { problem "manifest.json is missing"; exit 3; }
[ -f "$dir/SHA256SUMS" ] || { problem "SHA256SUMS is missing"; exit 3; }
# every file against its checksum, naming each that fails
summed=0; bad=$(cd "$dir" && sums_check SHA256SUMS 2>/dev/null) || summed=$?
if [ "$summed" -ne 0 ] && [ -z "$bad" ]; then problem "SHA256SUMS lists no file"; fi
if [ -n "$bad" ]; then
  printf '%s\n' "$bad" | while IFS= read -r line; do printf 'problem\t%s\n' "checksum mismatch: ${line%%:*} (${line##*: })"; done
  problems=$((problems + $(printf '%s\n' "$bad" | grep -c .)))
fi
# the manifest against the files: every dump file listed with the same checksum
manifest=$(tr -d '\n' < "$dir/manifest.json")
for f in $(cd "$dir" && find dump* -type f | sort); do
  sum=$(grep "  $f\$" "$dir/SHA256SUMS" | cut -d' ' -f1)
  case "$manifest" in *"\"$f\":\"$sum\""*) ;; *) problem "$f is not in the manifest with this checksum" ;; esac
done
tables=$(printf '%s' "$manifest" | sed -n 's/.*"tables":\([0-9]*\).*/\1/p')
rows=$(printf '%s' "$manifest" | sed -n 's/.*"rows":\([0-9]*\).*/\1/p')
[ "${tables:-0}" -gt 0 ] || problem "the manifest records no tables"
[ "${rows:-0}" -gt 0 ] || problem "the manifest records no rows"
drill='null'
if [ "$restore" = --restore ] && [ "$problems" -eq 0 ]; then
  started=$(date +%s)
  major=$(printf '%s' "$manifest" | sed -n 's/.*"server_version":"\([0-9]*\).*/\1/p')
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -n 1)
  [ -n "$bin" ] || { problem "no PostgreSQL server binaries on this store host for a restore drill"; exit 1; }
  scratch=$(mktemp -d /var/tmp/ironclad-drill.XXXXXX)
  chown postgres "$scratch"
  port=$(( 40000 + $$ % 20000 ))
  cleanup() { su postgres -s /bin/sh -c "$bin/pg_ctl -D $scratch/data -m immediate stop" >/dev/null 2>&1; rm -rf "$scratch"; }
  trap cleanup EXIT INT TERM
  as_pg() { (cd / && su postgres -s /bin/sh -c "$1"); }
  as_pg "$bin/initdb -D $scratch/data -U postgres -A trust -E UTF8 --locale C.UTF-8 --no-sync" > "$scratch/initdb.log" 2>&1 || { problem "restore drill: initdb failed"; exit 1; }
  as_pg "$bin/pg_ctl -D $scratch/data -w -l $scratch/server.log -o \"-p $port -k $scratch -c listen_addresses='' -c fsync=off -c full_page_writes=off\" start" > /dev/null 2>&1 || { problem "restore drill: the scratch server did not start"; exit 1; }
  jobs=$(nproc 2>/dev/null || echo 2)
  if [ -d "$dir/dump" ]; then src="$dir/dump"; else src="$dir/dump.pgdump"; fi
  # clients run as root (they read the store), connecting as postgres over the scratch socket
  "$bin/createdb" -U postgres -h "$scratch" -p "$port" drill || { problem "restore drill: createdb failed"; exit 1; }
  if ! "$bin/pg_restore" -U postgres -h "$scratch" -p "$port" -d drill -j "$jobs" --no-owner --no-acl "$src" > "$scratch/restore.log" 2>&1; then
    problem "restore drill: pg_restore failed: $(tail -n 3 "$scratch/restore.log" | tr '\n' ' ')"
  else
    "$bin/psql" -X -A -t -q -F '	' -U postgres -h "$scratch" -p "$port" -d drill > "$scratch/counts" 2>"$scratch/counts.err" <<'SQL'
SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
 ORDER BY 1 \gexec
SQL
    while IFS='	' read -r table count; do
      want=$(printf '%s' "$manifest" | sed -n "s/.*\"row_counts\":{[^}]*\"$table\":\([0-9]*\).*/\1/p")
      [ "$want" = "$count" ] || problem "restore drill: $table has $count rows restored, the manifest says ${want:-none}"
    done < "$scratch/counts"
    restored_tables=$(grep -c . "$scratch/counts" || true)
    [ "$restored_tables" = "$tables" ] || problem "restore drill: $restored_tables tables restored, the manifest says $tables"
  fi
  seconds=$(( $(date +%s) - started ))
  ok=true; [ "$problems" -eq 0 ] || ok=false
  drill="{\"verified\":$ok,\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"seconds\":$seconds,\"server\":\"$bin\",\"postgres_major\":\"${major:-}\"}"
  printf '%s\n' "$drill" > "$dir/verified.json.tmp" && mv "$dir/verified.json.tmp" "$dir/verified.json"
fi
printf 'result\t{"problems":%s,"drill":%s}\n' "$problems" "$drill"
[ "$problems" -eq 0 ] || exit 3
