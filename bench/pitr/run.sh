#!/usr/bin/env bash
# PITR benchmark (issue 19): a point-in-time restore of the 1 GB pgbench database against `pg_restore -j2` of its
# nightly dump, in the same run, on the same restoring host (pb-stage, pb-db's drill host); goal: the restore takes at
# most half the pg_restore's time. Then the drill's RPO and RTO figures.
#   ironclad: `ironclad pitr restore --host pb-db --time T --to pb-stage` (the store's base backup fetched, decrypted and
#             unpacked, the WAL up to T fetched, replayed, promoted, checked), T a time after some pgbench traffic.
#   the other: the nightly dump (`ironclad backup run`) already fetched and decrypted on pb-stage, restored by
#             `pg_restore -j2` into a new database of a fresh cluster: the part a dump restore cannot avoid.
# Needs root (the lab). ROUNDS=3 SCALE=70 (~1 GB). KEEP_OUT=1 keeps logs, KEEP_LAB=1 leaves the lab up.
# BEFORE=DIR: also time, in each round, the restore of another built checkout (DIR with its dist/, e.g. the commit
# before a change), under the same load: before and after in one run. Each restore's lines with their times go to
# pitr-N.err, the restored server's own log (its recovery, checkpoints, start and stop, with times) to pitr-N.pglog.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
inventory=$here/lab.yaml
state=/var/lib/ironclad-lab-bench-pitr
rounds=${ROUNDS:-3}
scale=${SCALE:-70}
out=$(mktemp -d /tmp/ironclad-bench-pitr.XXXXXX)
db=10.213.41.10
store=10.213.41.20
stage=10.213.41.30
ironclad=(node "$root/dist/scripts/ironclad.js" -i "$inventory")
ssh_opts=(-i "$state/id_ed25519" -o "UserKnownHostsFile=$state/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10)
lab_is_up=0
t=''

# shellcheck source=bench/lib.sh
source "$here/../lib.sh"

psql_on() { remote "$1" "cd / && su postgres -s /bin/sh -c \"psql -X -A -t -q -p ${3:-5432} -d ${4:-app}\"" <<<"$2"; }

# Continuous archiving as `apply` wires it once the lead has merged the archive side's wiring; by hand until then
# (the archive side's own store script, rendered from this inventory), as test/e2e/pitr-restore.test.ts does.
wire_archiving() {
  if remote "$store" 'test -x /usr/local/sbin/ironclad-pitr && grep -q pitr- /usr/local/sbin/ironclad-store'; then return 0; fi
  psql_on "$db" "CREATE ROLE ironclad_wal LOGIN REPLICATION PASSWORD 'pb-bench-wal'; SELECT pg_create_physical_replication_slot('ironclad_pitr');" 5432 postgres >/dev/null
  remote "$db" "printf 'host replication ironclad_wal $store/32 scram-sha-256\n' >> /etc/postgresql/15/main/pg_hba.conf && su postgres -c \"psql -X -q -c 'SELECT pg_reload_conf()'\""
  remote "$db" 'cat /var/lib/ironclad/backup-recipients' | remote "$store" 'install -d -m 700 /var/lib/ironclad/pitr && cat > /var/lib/ironclad/pitr/pb-db.recipients'
  echo "$db:5432:replication:ironclad_wal:pb-bench-wal" | remote "$store" 'umask 077 && cat > /var/lib/ironclad/pitr/pb-db.pgpass'
  node --input-type=module -e "
    const { loadInventory } = await import('$root/dist/src/inventory/load.js');
    const { renderPitrStore } = await import('$root/dist/src/pitr/render.js');
    const inv = loadInventory('$inventory');
    const h = (n) => inv.hosts.find((x) => x.name === n);
    process.stdout.write(renderPitrStore(h('pb-store'), [h('pb-db')]));" | remote "$store" 'cat > /usr/local/sbin/ironclad-pitr && chmod 755 /usr/local/sbin/ironclad-pitr'
  printf 'ironclad-backup ALL=(root) NOPASSWD: /usr/local/sbin/ironclad-pitr partial *\n' | remote "$store" 'cat > /etc/sudoers.d/ironclad-pitr && chmod 440 /etc/sudoers.d/ironclad-pitr'
  # shellcheck disable=SC2016  # expanded on the store
  remote "$store" 'sed -i "s|^reader() {\$|reader() {\n  case \"\${2:-}\" in pitr-*) a=\$1; shift; exec /usr/local/sbin/ironclad-pitr reader \"\$a\" \"\$@\" ;; esac|" /usr/local/sbin/ironclad-store'
  remote "$store" 'install -d -m 2750 -g ironclad-backup /srv/ironclad/backups/pitr /srv/ironclad/backups/pitr/pb-db'
}

before=${BEFORE:-}
[[ -z $before || -f $before/dist/scripts/ironclad.js ]] || { echo "BEFORE=$before has no dist/scripts/ironclad.js (build it first)" >&2; exit 2; }
load_start=$(load)
log "load at start: $load_start"
log "build"
(cd "$root" && npx tsc -p tsconfig.build.json) || die "build"
log "lab down + up"
"${ironclad[@]}" lab down >"$out/lab-down-start.log" 2>&1 || die "lab down, see $out/lab-down-start.log"
lab_is_up=1
make_secrets app
"${ironclad[@]}" lab up >"$out/lab-up.log" 2>&1 || die "lab up, see $out/lab-up.log"
"${ironclad[@]}" apply --yes >"$out/apply.log" 2>&1 || die "apply, see $out/apply.log"
wire_archiving || die "archiving"
psql_on "$db" 'CREATE SCHEMA IF NOT EXISTS ironclad; CREATE TABLE IF NOT EXISTS ironclad.heartbeat(at timestamptz NOT NULL);' 5432 postgres >/dev/null
remote "$store" 'setsid /usr/local/sbin/ironclad-pitr receive pb-db >>/var/log/ironclad-pitr.log 2>&1 </dev/null &'

log "loading pgbench data, scale $scale"
remote "$db" "cd / && su postgres -s /bin/sh -c 'pgbench -i -q -s $scale app && psql -X -q -d app -c \"VACUUM ANALYZE\" -c CHECKPOINT'" >"$out/pgbench.log" 2>&1 || die "pgbench -i, see $out/pgbench.log"
db_bytes=$(psql_on "$db" "SELECT pg_database_size('app');")
timed base t remote "$store" '/usr/local/sbin/ironclad-pitr base pb-db' || die "base backup, see $out/base.*"
timed dump t "${ironclad[@]}" backup run --host pb-db || die "nightly dump, see $out/dump.*"
log "60 s of pgbench traffic after the base backup (WAL to replay)"
remote "$db" "cd / && su postgres -s /bin/sh -c 'pgbench -T 30 -c 2 app'" >"$out/traffic1.log" 2>&1
psql_on "$db" 'INSERT INTO ironclad.heartbeat VALUES (now());' 5432 postgres >/dev/null
target=$(psql_on "$db" "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');")
remote "$db" "cd / && su postgres -s /bin/sh -c 'pgbench -T 30 -c 2 app'" >"$out/traffic2.log" 2>&1
end_lsn=$(psql_on "$db" 'INSERT INTO ironclad.heartbeat VALUES (now()); SELECT pg_switch_wal();' 5432 postgres)
# every round replays the same WAL: the rounds start once the store has archived all of it (not only received it)
lsn_num() { local hi=${1%/*} lo=${1#*/}; echo $((0x$hi * 4294967296 + 0x$lo)); }
log "waiting for the store to archive the WAL up to $end_lsn"
for _ in $(seq 1 600); do
  archived=$(remote "$store" 'tail -n 1 /srv/ironclad/backups/pitr/pb-db/wal.index' | awk '{ print $3 }')
  [[ $archived =~ ^[0-9A-F]+/[0-9A-F]+$ ]] && (($(lsn_num "$archived") >= $(lsn_num "$end_lsn"))) && break
  sleep 1
done
log "archived up to ${archived:-nothing}"

# the dump onto the restoring host once, decrypted: the baseline times only pg_restore -j2 from there
id=$("${ironclad[@]}" --json backup list --host pb-db | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).backups[0].id))')
remote "$stage" "set -e; rm -rf /var/tmp/pb-dump; mkdir -m 700 /var/tmp/pb-dump; cd /var/tmp/pb-dump
  ssh -n -i /var/lib/ironclad/refresh_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/var/lib/ironclad/known_hosts ironclad-backup@$store get pb-db app $id dump.pgdump.age 0 > dump.pgdump.age
  age -d -i /var/lib/ironclad/age-identity -o dump.pgdump dump.pgdump.age && rm dump.pgdump.age && chown -R postgres: /var/tmp/pb-dump" || die "fetching the dump"
plain_restore() {
  remote "$stage" "set -e; pg_dropcluster --stop 15 plain 2>/dev/null || true; pg_createcluster -p 5499 15 plain >/dev/null && pg_ctlcluster --skip-systemctl-redirect 15 plain start
    cd / && su postgres -s /bin/sh -c 'createdb -p 5499 app && pg_restore -j2 -p 5499 -d app /var/tmp/pb-dump/dump.pgdump'"
}
# (each line the restore says, with the time it said it: where the time goes, in pitr-N.err)
stamped() { while IFS= read -r l; do printf '%s %s\n' "$(date +%T.%3N)" "$l"; done; }
pitr_restore() { node "${2:-$root}/dist/scripts/ironclad.js" -i "$inventory" pitr restore --host pb-db --time "$target" --to pb-stage --port 5498 --cluster "$1" 2> >(stamped >&2); }
# (the restored server's log, kept before its cluster goes)
drop_restored() { remote "$stage" "cat /var/log/postgresql/postgresql-15-$1.log" >"$out/$2.pglog" 2>&1 || true; remote "$stage" "pg_dropcluster --stop 15 $1"; }
ours=() theirs=() earlier=()
for r in $(seq 1 "$rounds"); do
  if [[ -n $before ]]; then
    timed "before-$r" t pitr_restore "pb_b$r" "$before" || die "pitr restore of BEFORE, see $out/before-$r.*"
    earlier+=("$t")
    drop_restored "pb_b$r" "before-$r"
  fi
  timed "pitr-$r" t pitr_restore "pb_$r" || die "pitr restore, see $out/pitr-$r.*"
  ours+=("$t")
  drop_restored "pb_$r" "pitr-$r"
  timed "pg_restore-$r" t plain_restore || die "pg_restore -j2, see $out/pg_restore-$r.*"
  theirs+=("$t")
  remote "$stage" 'pg_dropcluster --stop 15 plain'
done
# (the drill proves a heartbeat within 60 s of its point: written here as the database host's job would)
psql_on "$db" 'INSERT INTO ironclad.heartbeat VALUES (now());' 5432 postgres >/dev/null
timed drill t "${ironclad[@]}" --json pitr drill --host pb-db || die "drill, see $out/drill.*"
drill_json=$(cat "$out/drill.out")
a=$(median "${ours[@]}") b=$(median "${theirs[@]}")
echo "PITR restore of a $(awk -v b="$db_bytes" 'BEGIN { printf "%.0f MB", b / 1048576 }') database (pgbench scale $scale) to $target, on pb-stage, $rounds rounds"
echo "  ironclad pitr restore: median $a s (rounds: $(joined "${ours[@]}"))"
echo "  pg_restore -j2 of the nightly dump: median $b s (rounds: $(joined "${theirs[@]}"))"
echo "  ratio: $(ratio "$a" "$b") of pg_restore's time (goal: at most 0.50x)"
if [[ -n $before ]]; then
  e=$(median "${earlier[@]}")
  echo "  BEFORE ($before): median $e s (rounds: $(joined "${earlier[@]}")), $(ratio "$e" "$b") of pg_restore's time"
fi
echo "  load: $load_start at the start, $(load) at the end"
# shellcheck disable=SC2016  # a JavaScript template, not shell
echo "  drill: $(node -e 'const d=JSON.parse(process.argv[1]).drills[0]; console.log(`passed ${d.passed}, RPO ${d.rpo_s} s, RTO ${d.rto_s} s`)' "$drill_json")"
end_lab
