#!/usr/bin/env bash
# Install everything on a fresh Debian machine (as root), then run the demo on the lab estate:
# four real hosts provisioned, production seeded and backed up, the backup verified by a restore drill,
# the single-instance check, and staging refreshed from the backup with the latest events printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm ci
npm link >/dev/null
export IRONCLAD_INVENTORY="$PWD/inventory/lab.yaml"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
lab_ssh() { ssh -i /var/lib/ironclad-lab/id_ed25519 -o UserKnownHostsFile=/var/lib/ironclad-lab/known_hosts -o BatchMode=yes "root@$1" "$2"; }

step "the lab: four hosts with their own network, processes and sshd";  ironclad lab up
step "validate the inventory";                                          ironclad validate
step "what the hosts are";                                              ironclad facts --only os,clusters
step "plan: what apply would change";                                   ironclad plan
step "apply";                                                           ironclad apply --yes
step "a second apply changes nothing";                                  ironclad apply --yes
step "the single-instance check";                                       ironclad check instances
step "production data (users, events, orders, payment methods)"
lab_ssh 10.213.7.10 'cd / && su postgres -c "psql -q -X -v ON_ERROR_STOP=1 -d app"' < inventory/lab-seed.sql
step "backup through the installed job";                                ironclad backup run --host db-prod
step "verify it with a restore drill";                                  ironclad backup verify --latest --restore
step "the store: encrypted backups, ids and times of its own";           ironclad backup list
step "the store watches itself (its cron runs this)";                   lab_ssh 10.213.7.12 '/usr/local/sbin/ironclad-store health'
step "refresh staging from the latest verified backup";                 ironclad --yes refresh staging
step "images: production's uploads and the backup's copy"
# shellcheck disable=SC2016  # expanded on the lab host, not here
uploads='set -e; mkdir -p "$1/2026/11"; for i in 1 2 3 4 5 6 7 8; do seq 1 $((i * 3000)) > "$1/2026/11/photo_$i.jpg"; done; touch -d "2026-11-01 12:00" "$1"/2026/11/*'
lab_ssh 10.213.7.11 "sh -c '$uploads' sh /srv/app/uploads"
lab_ssh 10.213.7.12 "sh -c '$uploads' sh /srv/ironclad/images/uploads"
ironclad images compare uploads
step "the audit of the whole estate (also as a page: /tmp/ironclad-audit.html)"
ironclad audit --html /tmp/ironclad-audit.html
echo; echo 'The lab is still up: try ironclad facts, ironclad refresh staging --dry-run, ...'; echo 'Tear it down with: ironclad lab down'
