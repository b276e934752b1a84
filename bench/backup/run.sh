#!/usr/bin/env bash
# Backup benchmark: ironclad's real backup job (installed by `ironclad apply`, run by `ironclad backup run --host
# bb-db`: single-instance gate, REPEATABLE READ dump + row counts from the same snapshot, refusals, manifest,
# checksums, encryption with age as the dump is written, the upload into the store while the dump is written (resumed by
# rsync), the store's commit as root: checked, given its id, fsynced) against a plain
# `pg_dump -Fc app | ssh store 'cat > file'` doing the same transfer between the same two lab hosts (lab.yaml).
# Also times the restore drill (`ironclad backup verify --latest --restore`) and, for the breakdown, the job
# started directly over SSH as cron starts it (no ironclad CLI).
# Targets: all the checks together cost at most 15% more time than the plain pipeline (issue 5); with encryption at
# rest and the durable commit, at most 10% (issue 14).
#
# Needs root (the lab); pgbench and rsync on this machine (the lab hosts see them through their copy-on-write root).
#   bench/backup/run.sh     ROUNDS=15 DRILLS=5 SCALE=70 (defaults: pgbench scale 70 is ~1 GB on disk)   KEEP_OUT=1 (keep logs)
#                           KEEP_LAB=1 (leave the lab up after the run, to look at it)
# One lab for the whole run; the database is loaded once. Each round runs the ironclad backup and the plain
# pipeline side by side (the order alternates between rounds), then the job as cron runs it; the first DRILLS rounds
# then also run the restore drill of the newest backup. The table shows medians. At the end one more job run is traced (bash xtrace with
# timestamps on the host) to show where its time goes. The lab is always torn down at the end, also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
inventory=$here/lab.yaml
state=/var/lib/ironclad-lab-bench-backup
rounds=${ROUNDS:-15}
drills=${DRILLS:-5}
scale=${SCALE:-70}
out=$(mktemp -d /tmp/ironclad-bench-backup.XXXXXX)
db=10.213.16.10
store=10.213.16.20
ironclad=(node "$root/dist/scripts/ironclad.js" -i "$inventory")
ssh_opts=(-i "$state/id_ed25519" -o "UserKnownHostsFile=$state/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10)
# the plain pipeline's SSH from bb-db to bb-store: its own key, the same pinned host key and options as the job's
plain_ssh="ssh -i /root/.ssh/plain_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/var/lib/ironclad/known_hosts -o ConnectTimeout=20 root@$store"
lab_is_up=0
t='' # set by timed

# shellcheck source=bench/lib.sh
source "$here/../lib.sh"

# The plain pipeline, started from here like `ironclad backup run` (one SSH to the database host).
plain_backup() {
  remote "$db" "set -o pipefail; cd / && su postgres -s /bin/sh -c 'pg_dump -Fc app' | $plain_ssh 'cat > /srv/plain/app.pgdump'"
}
# The same at the job's zlib level (pg_dump -Z 1, the job's default): a like-for-like reference beside the target's plain.
plain_z1_backup() {
  remote "$db" "set -o pipefail; cd / && su postgres -s /bin/sh -c 'pg_dump -Fc -Z 1 app' | $plain_ssh 'cat > /srv/plain/app.pgdump'"
}
plain_check() { # the file on the store is a whole custom-format dump with the 4 tables' data
  local n
  n=$(remote "$store" "pg_restore -l /srv/plain/app.pgdump | grep -c 'TABLE DATA public pgbench_'") || die "plain: the dump on the store is unreadable"
  [[ $n == 4 ]] || die "plain: the dump on the store has $n tables' data, not 4"
}
ironclad_backup() { "${ironclad[@]}" backup run --host bb-db; }
job_direct() { remote "$db" /usr/local/sbin/ironclad-backup; }
drill() { "${ironclad[@]}" backup verify --latest --restore; }

log "build"
(cd "$root" && npx tsc -p tsconfig.build.json) || die "build"

log "lab down + up"
"${ironclad[@]}" lab down >"$out/lab-down-start.log" 2>&1 || die "lab down, see $out/lab-down-start.log"
lab_is_up=1
"${ironclad[@]}" lab up >"$out/lab-up.log" 2>&1 || die "lab up, see $out/lab-up.log"
# Debian's default .bashrc on the hosts, not this machine's (pyenv init would cost ~0.5 s per ssh command)
for address in "$db" "$store"; do remote "$address" 'cp /etc/skel/.bashrc /etc/skel/.profile /root/'; done
log "apply"
"${ironclad[@]}" --yes apply >"$out/apply.log" 2>&1 || die "apply, see $out/apply.log"

log "loading pgbench data, scale $scale"
remote "$db" "cd / && su postgres -s /bin/sh -c 'pgbench -i -q -s $scale app && psql -X -q -d app -c \"VACUUM ANALYZE\" -c CHECKPOINT'" >"$out/pgbench.log" 2>&1 ||
  die "pgbench -i, see $out/pgbench.log"
db_bytes=$(remote "$db" "cd / && su postgres -s /bin/sh -c \"psql -X -A -t -c \\\"SELECT pg_database_size('app')\\\"\"") || die "database size"
db_rows=$(remote "$db" "cd / && su postgres -s /bin/sh -c \"psql -X -A -t -d app -c 'SELECT count(*) FROM pgbench_accounts'\"") || die "row count"

log "the plain pipeline's key (bb-db root -> bb-store root)"
# shellcheck disable=SC2016 # expanded on the host
remote "$db" 'rm -f /root/.ssh/plain_ed25519 /root/.ssh/plain_ed25519.pub && mkdir -p -m 700 /root/.ssh && ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/plain_ed25519 && cat /root/.ssh/plain_ed25519.pub' |
  remote "$store" 'mkdir -p -m 700 /root/.ssh /srv/plain && cat >> /root/.ssh/authorized_keys' || die "plain key"

# warm-up (not counted): the first backup has no previous one to compare with; caches filled alike for both
timed warmup-ironclad t ironclad_backup || die "ironclad backup (warm-up), see $out/warmup-ironclad.*"
timed warmup-plain t plain_backup || die "plain backup (warm-up), see $out/warmup-plain.*"
plain_check

ic=() pl=() pz1=() job=() dr=() dr_self=() ratio=() ratio_z1=()
load_start=$(load)
for ((r = 1; r <= rounds; r++)); do # the order alternates, so a drift in this machine's load hits both alike
  # (ironclad in the middle: each plain pipeline runs right before it in one round and right after it in the next)
  if ((r % 2)); then order=(plainz1 ironclad plain); else order=(plain ironclad plainz1); fi
  for what in "${order[@]}"; do
    if [[ $what == ironclad ]]; then
      timed "ironclad-$r" t ironclad_backup || die "ironclad backup run, see $out/ironclad-$r.*"
      grep -q 'backup done' "$out/ironclad-$r.out" || die "ironclad: no 'backup done', see $out/ironclad-$r.*"
      ic+=("$t")
    elif [[ $what == plainz1 ]]; then
      timed "plainz1-$r" t plain_z1_backup || die "plain backup at -Z 1, see $out/plainz1-$r.*"
      pz1+=("$t")
    else
      timed "plain-$r" t plain_backup || die "plain backup, see $out/plain-$r.*"
      pl+=("$t")
    fi
  done
  plain_check
  ratio+=("$(awk -v a="${ic[-1]}" -v b="${pl[-1]}" 'BEGIN { printf "%.3f", a / b }')")
  ratio_z1+=("$(awk -v a="${ic[-1]}" -v b="${pz1[-1]}" 'BEGIN { printf "%.3f", a / b }')")
  timed "job-$r" t job_direct || die "the job run directly, see $out/job-$r.*"
  job+=("$t")
  ((r <= drills)) || continue
  timed "drill-$r" t drill || die "restore drill, see $out/drill-$r.*"
  grep -q 'OK (restore drill passed' "$out/drill-$r.out" || die "restore drill did not pass, see $out/drill-$r.out"
  dr+=("$t") dr_self+=("$(sed -n 's/.*restore drill passed in \([0-9]*\) s.*/\1/p' "$out/drill-$r.out")")
done
load_end=$(load)
# shellcheck disable=SC2016 # expanded on the host
manifest=$(remote "$store" 'cat "$(ls -d /srv/ironclad/backups/bb-db/app/*/ | tail -n 1)data/manifest.json"')
dump_bytes=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' <<<"$manifest")
backup_rows=$(sed -n 's/.*"rows":\([0-9]*\).*/\1/p' <<<"$manifest")

# where the job's time goes: one more run under bash xtrace with a timestamp on every line
log "profiling one job run"
# shellcheck disable=SC2016 # expanded on the host
remote "$db" 'cd / && bash -c '\''PS4="+ \$EPOCHREALTIME "; set -x; . /usr/local/sbin/ironclad-backup'\'' >/dev/null 2>/tmp/ironclad-backup.trace; cat /tmp/ironclad-backup.trace' >"$out/profile.trace" ||
  die "profiled run, see $out/profile.trace"
profile=$(awk '/^\++ [0-9]+\.[0-9]+ / { t = $2; if (p != "") { d = t - p; if (d >= 0.05) printf "%7.2f  %s\n", d, substr(line, 1, 110) } if (first == "") first = t; p = t; line = $0; sub(/^\++ [0-9.]+ /, "", line) }
  END { printf "%7.2f  total (first to last traced line)\n", p - first }' "$out/profile.trace")

# the same trace by step: when each milestone of the job was first reached, seconds after its first traced line
milestones=$(awk '/^\++ [0-9]+\.[0-9]+ / { t = $2; if (first == "") first = t; last = t
    line = $0; sub(/^\++ [0-9.]+ /, "", line)
    if (!s && line ~ /^su postgres .*psql/) s = t
    if (!d && line ~ /--snapshot=/) d = t
    if (!c && line ~ /^prepared=1$/) c = t
    if (!e && line ~ /^sum_rc=0$/) e = t
    if (!m && line ~ /^mv .*SHA256SUMS.tmp/) m = t
    if (!k && line ~ /^store commit /) k = t
    if (!a && line ~ /^committed=1$/) a = t }
  function at(x) { return x ? sprintf("%5.2f", x - first) : "    -" }
  END { printf "  %s  the counting session (psql) starts\n  %s  pg_dump starts\n  %s  the row counts are ready\n  %s  the dump has ended (pg_dump, age, tee, its checksum)\n  %s  manifest and SHA256SUMS written\n  %s  the commit call starts (the upload has ended)\n  %s  the store answered: committed\n  %s  the job ends\n", at(s), at(d), at(c), at(e), at(m), at(k), at(a), at(last) }' "$out/profile.trace")

# and where the store's commit goes (as the job's call runs it, after sudo): the newest backup's files proposed again as a
# new upload by the upload account, committed as root under bash xtrace with timestamps
log "profiling one commit on the store"
# shellcheck disable=SC2016 # expanded on the host
remote "$store" 'set -e; r=/srv/ironclad/backups; b=$(ls -d $r/bb-db/app/*/ | tail -n 1); n=profile$$
  su -s /bin/sh ironclad-backup -c "mkdir $r/incoming/bb-db/$n && cp $b/data/* $r/incoming/bb-db/$n/"
  printf "%s\n" "PS4=\"+ \\\$EPOCHREALTIME \"" "set -x" ". /usr/local/sbin/ironclad-store \"\$@\"" > /tmp/store-trace.sh
  cd / && bash /tmp/store-trace.sh commit bb-db $n app 2>/tmp/ironclad-commit.trace >/dev/null; cat /tmp/ironclad-commit.trace' >"$out/commit.trace" ||
  die "profiled commit, see $out/commit.trace"
commit_profile=$(awk '/^\++ [0-9]+\.[0-9]+ / { t = $2; if (p != "") { d = t - p; if (d >= 0.005) printf "%7.3f  %s\n", d, substr(line, 1, 110) } if (first == "") first = t; p = t; line = $0; sub(/^\++ [0-9.]+ /, "", line) }
  END { printf "%7.3f  total (first to last traced line)\n", p - first }' "$out/commit.trace")

end_lab

m_ic=$(median "${ic[@]}") m_pl=$(median "${pl[@]}") m_pz1=$(median "${pz1[@]}") m_job=$(median "${job[@]}") m_dr=$(median "${dr[@]}")
row() { printf '%-58s %9s %9s\n' "$@"; }
echo
echo "Backup of a $(awk -v b="$db_bytes" 'BEGIN { printf "%.0f MB", b / 1048576 }') database (pgbench scale $scale, $db_rows accounts, $backup_rows rows in all; custom-format dump $(awk -v b="$dump_bytes" 'BEGIN { printf "%.1f MB", b / 1048576 }')), bb-db -> bb-store"
echo "machine: $(nproc) CPUs, load average $load_start at the start, $load_end at the end (the lab hosts run on these CPUs too)"
echo "$rounds rounds (order alternating), restore drill in the first ${#dr[@]}; seconds:"
echo "  ironclad backup run: $(joined "${ic[@]}")"
echo "  plain pg_dump | ssh: $(joined "${pl[@]}")"
echo "  job as cron runs it: $(joined "${job[@]}")"
echo "  plain at -Z 1:       $(joined "${pz1[@]}")"
echo "  ironclad/plain in the same round: $(joined "${ratio[@]}")"
echo "  restore drill:       $(joined "${dr[@]}") (the drill's own count: $(joined "${dr_self[@]}"))"
echo "medians:"
row "" "seconds" "vs plain"
row "plain: pg_dump -Fc app | ssh bb-store 'cat > file'" "$m_pl" ""
row "ironclad backup run --host bb-db (CLI + job)" "$m_ic" "$(pct "$m_ic" "$m_pl")"
row "  ironclad/plain paired by round (median of the ratios)" "" "$(awk -v r="$(median "${ratio[@]}")" 'BEGIN { printf "%+.1f%%", (r - 1) * 100 }')"
row "the job alone, as cron starts it (ssh bb-db ironclad-backup)" "$m_job" "$(pct "$m_job" "$m_pl")"
row "plain at the job's zlib level: pg_dump -Fc -Z 1 app | ssh" "$m_pz1" "$(pct "$m_pz1" "$m_pl")"
row "  ironclad/plain -Z 1 paired by round (like for like)" "" "$(awk -v r="$(median "${ratio_z1[@]}")" 'BEGIN { printf "%+.1f%%", (r - 1) * 100 }')"
row "restore drill: ironclad backup verify --latest --restore" "$m_dr" ""
target=no
awk -v a="$m_ic" -v b="$m_pl" 'BEGIN { exit !(a <= b * 1.10) }' && target=yes
echo "target (ironclad backup run, encrypted and durable, at most 10% slower than plain): $target"
echo
echo "where the job's time goes (one traced run on bb-db; steps of 0.05 s or more, seconds):"
echo "$milestones"
echo "  steps of 0.05 s or more:"
echo "$profile"
echo
echo "the store's commit (one traced run on bb-store, as root; steps of 5 ms or more, seconds):"
echo "$commit_profile"
