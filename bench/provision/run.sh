#!/usr/bin/env bash
# Provisioning benchmark: `ironclad apply` against Ansible (ansible/playbook.yml) doing the same work on the
# same five fresh lab hosts (lab.yaml), first run and no-op re-run; prints seconds and Ansible/ironclad ratios.
# Targets (issue 3): no-op re-run >= 10x faster than Ansible's, first run >= 3x faster.
#
# Needs root (the lab), ansible + the community.postgresql collection (Debian package `ansible`) and
# python3-psycopg2 on this machine (lab hosts see it through their copy-on-write root).
#   bench/provision/run.sh     ROUNDS=3 NOOP_RUNS=3 (defaults)     KEEP_OUT=1 (keep the logs)
# Each round: fresh lab, ironclad first run + NOOP_RUNS re-runs; fresh lab, Ansible the same. The table
# shows medians over all rounds (this machine is shared: single runs vary by up to 2x with its load).
# The lab is always torn down at the end, also on failure.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
inventory=$here/lab.yaml
state=/var/lib/ironclad-lab-bench
noop_runs=${NOOP_RUNS:-3}
rounds=${ROUNDS:-3}
out=$(mktemp -d /tmp/ironclad-bench-provision.XXXXXX)
hosts=(bp-db1 bp-db2 bp-db3 bp-db4 bp-db5)
addresses=(10.213.15.11 10.213.15.12 10.213.15.13 10.213.15.14 10.213.15.15)
ironclad=(node "$root/dist/scripts/ironclad.js" -i "$inventory")
ssh_opts=(-i "$state/id_ed25519" -o "UserKnownHostsFile=$state/known_hosts" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10)
export ANSIBLE_CONFIG=$here/ansible/ansible.cfg ANSIBLE_NOCOLOR=1
lab_is_up=0
t='' cpu_t='' # set by timed

# Close the ControlPersist masters Ansible left in a control directory (processes this run started).
close_masters() {
  local sock
  for sock in "$1"/*; do
    if [[ -S $sock ]]; then ssh -o "ControlPath=$sock" -O exit bench-host >/dev/null 2>&1 || true; fi
  done
}

# Before the lab goes down: the masters of every Ansible run of this benchmark.
bench_cleanup() {
  local dir
  for dir in "$out"/cp-*; do [[ -d $dir ]] && close_masters "$dir"; done
  return 0
}

# shellcheck source=bench/lib.sh
source "$here/../lib.sh"

# A fresh lab: down (fresh overlays next time), up, and every host as a new server would be: Postgres
# packages installed, no cluster. Each host's /root/.bashrc is Debian's default, not this machine's
# (pyenv init, ~0.5 s per ssh command): the lab does that on first boot; the copy here only guards it.
fresh_lab() {
  local tag=$1 address
  log "lab down + up ($tag)"
  "${ironclad[@]}" lab down >"$out/lab-down-$tag.log" 2>&1 || die "lab down, see $out/lab-down-$tag.log"
  lab_is_up=1
  "${ironclad[@]}" lab up >"$out/lab-up-$tag.log" 2>&1 || die "lab up, see $out/lab-up-$tag.log"
  for address in "${addresses[@]}"; do
    # shellcheck disable=SC2016 # expanded on the host
    remote "$address" 'cp /etc/skel/.bashrc /etc/skel/.profile /root/ &&
      dpkg-query -W -f="\${Status}\n" postgresql-15 | grep -q "ok installed" &&
      [ -z "$(pg_lsclusters -h)" ]' || die "$address is not a fresh host (packages installed, no cluster)"
  done
  # the new lab's writes reach the disk now, not during the timed run (initdb's fsync would wait for them)
  sync
}

# Every host converged the same way: both roles log in over TCP with their secret, database app owned by app.
check_result() {
  local tool=$1 i got
  for i in "${!addresses[@]}"; do
    for role in app reporting; do
      got=$(remote "${addresses[$i]}" "PGPASSWORD=\$(cat) psql -X -h ${addresses[$i]} -U $role -d app -Atc \"SELECT current_user || ' ' || pg_get_userbyid(datdba) || ' ' || current_setting('work_mem') FROM pg_database WHERE datname = 'app'\"" <"$state/secrets/$role.pw") ||
        die "$tool: $role cannot log in on ${hosts[$i]}"
      [[ $got == "$role app 8MB" ]] || die "$tool: unexpected state on ${hosts[$i]}: $got"
    done
  done
  log "$tool: every host checked (roles log in over TCP, database owner, settings)"
}

# Number of changes in an `apply --json` document, and whether every host is ok.
json_changes() { node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); if (!d.hosts.every((h) => h.ok)) process.exit(1); console.log(d.hosts.reduce((n, h) => n + h.changes.length, 0));' "$1"; }

# Sum of changed= over the PLAY RECAP of an ansible-playbook log; fails when a host failed or was unreachable.
ansible_changed() {
  awk '/^PLAY RECAP/ { r = 1; next } r && / : ok=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] += kv[2] } n++ }
       END { if (n != 5 || v["failed"] || v["unreachable"]) exit 1; print v["changed"] }' "$1"
}

# ansible-playbook with its SSH control sockets in CONTROLS; times in t and cpu_t.
run_ansible() {
  local name=$1 controls=$2
  mkdir -p "$controls"
  ANSIBLE_SSH_CONTROL_PATH_DIR=$controls timed "$name" t ansible-playbook "$here/ansible/playbook.yml" || die "$name, see $out/$name.out"
}

command -v ansible-playbook >/dev/null || die "ansible-playbook not found: apt-get install -y ansible"
ansible-galaxy collection list community.postgresql 2>/dev/null | grep -q community.postgresql || die "the community.postgresql collection is missing"
/usr/bin/python3 -c 'import psycopg2' 2>/dev/null || die "python3-psycopg2 is missing: apt-get install -y python3-psycopg2"

log "build"
(cd "$root" && npx tsc -p tsconfig.build.json) || die "build"
make_secrets app reporting

ic_first=() ic_first_cpu=() ic_first_changes=() ic_noop=() ic_noop_cpu=() ic_noop_changes=()
an_first=() an_first_cpu=() an_first_changed=() an_noop=() an_noop_cpu=() an_noop_changed=()

# ironclad: first run on fresh hosts, then the re-runs (each must report zero changes).
round_ironclad() {
  local r=$1 n c
  fresh_lab "ironclad-$r"
  timed "ironclad-$r-first" t "${ironclad[@]}" --json --yes apply || die "ironclad apply (first), see $out/ironclad-$r-first.*"
  c=$(json_changes "$out/ironclad-$r-first.out") || die "ironclad apply (first) reported a failed host"
  ic_first+=("$t") ic_first_cpu+=("$cpu_t") ic_first_changes+=("$c")
  for ((n = 1; n <= noop_runs; n++)); do
    timed "ironclad-$r-noop-$n" t "${ironclad[@]}" --json --yes apply || die "ironclad apply (no-op), see $out/ironclad-$r-noop-$n.*"
    c=$(json_changes "$out/ironclad-$r-noop-$n.out") || die "ironclad apply (no-op) reported a failed host"
    ic_noop+=("$t") ic_noop_cpu+=("$cpu_t") ic_noop_changes+=("$c")
  done
  check_result ironclad
}

# Ansible: the same on fresh hosts; every run starts without SSH masters (as a run minutes after the last one would).
round_ansible() {
  local r=$1 n c
  fresh_lab "ansible-$r"
  run_ansible "ansible-$r-first" "$out/cp-$r-first"
  c=$(ansible_changed "$out/ansible-$r-first.out") || die "ansible (first) failed on a host, see $out/ansible-$r-first.out"
  an_first+=("$t") an_first_cpu+=("$cpu_t") an_first_changed+=("$c")
  close_masters "$out/cp-$r-first"
  for ((n = 1; n <= noop_runs; n++)); do
    run_ansible "ansible-$r-noop-$n" "$out/cp-$r-noop-$n"
    c=$(ansible_changed "$out/ansible-$r-noop-$n.out") || die "ansible (no-op) failed on a host, see $out/ansible-$r-noop-$n.out"
    an_noop+=("$t") an_noop_cpu+=("$cpu_t") an_noop_changed+=("$c")
    close_masters "$out/cp-$r-noop-$n"
  done
  check_result ansible
}

load_start=$(load)
for ((r = 1; r <= rounds; r++)); do # the order alternates, so a drift in this machine's load hits both alike
  if ((r % 2)); then round_ironclad "$r" && round_ansible "$r"; else round_ansible "$r" && round_ironclad "$r"; fi
done
# informative: an Ansible re-run right after another one, while ControlPersist keeps the SSH masters open
run_ansible ansible-warm-1 "$out/cp-warm"
run_ansible ansible-warm-2 "$out/cp-warm"
t_an_warm=$t
an_warm_changed=$(ansible_changed "$out/ansible-warm-2.out") || die "ansible (warm no-op) failed on a host"
load_end=$(load)

end_lab

# "0 x9" when every value is the same, else the values.
same() { if [[ $(printf '%s\n' "$@" | sort -u | wc -l) == 1 ]]; then echo "$1 x$#"; else joined "$@"; fi; }
row() { printf '%-38s %10s %10s %17s %7s\n' "$@"; }
m_ic_first=$(median "${ic_first[@]}") m_an_first=$(median "${an_first[@]}")
m_ic_noop=$(median "${ic_noop[@]}") m_an_noop=$(median "${an_noop[@]}")
echo
echo "Provisioning 5 lab hosts: Postgres 15 cluster, conf.d settings + listen_addresses, pg_hba block, service, 2 roles, 1 database"
echo "machine: $(nproc) CPUs, load average $load_start at the start, $load_end at the end (the lab hosts run on these CPUs too)"
echo "$rounds rounds; first runs (s): ironclad $(joined "${ic_first[@]}"); Ansible $(joined "${an_first[@]}")"
echo "no-op re-runs (s): ironclad $(joined "${ic_noop[@]}"); Ansible $(joined "${an_noop[@]}")"
echo "medians:"
row "" "ironclad" "Ansible" "Ansible/ironclad" "target"
row "first run (s)" "$m_ic_first" "$m_an_first" "$(ratio "$m_an_first" "$m_ic_first")" ">= 3x"
row "no-op re-run (s)" "$m_ic_noop" "$m_an_noop" "$(ratio "$m_an_noop" "$m_ic_noop")" ">= 10x"
row "no-op, Ansible's SSH masters warm (s)" "$m_ic_noop" "$t_an_warm" "$(ratio "$t_an_warm" "$m_ic_noop")" ""
row "CPU here, first run (s)" "$(median "${ic_first_cpu[@]}")" "$(median "${an_first_cpu[@]}")" "" ""
row "CPU here, no-op re-run (s)" "$(median "${ic_noop_cpu[@]}")" "$(median "${an_noop_cpu[@]}")" "" ""
row "changes, first runs (5 hosts)" "$(same "${ic_first_changes[@]}")" "$(same "${an_first_changed[@]}")" "" ""
row "changes, no-op re-runs (5 hosts)" "$(same "${ic_noop_changes[@]}")" "$(same "${an_noop_changed[@]}" "$an_warm_changed")" "" ""
