#!/usr/bin/env bash
# The plain way to refresh staging, as a team would script it without ironclad: run from the operator's machine,
# it copies the newest dump from the store to staging with scp (host to host), decrypts it there (age), restores it with a single-job
# pg_restore into a new database, scrubs it with UPDATE statements (the same fakes as scrub/app.yaml), promotes the
# developer accounts, then swaps the databases by renaming them (the old copy is kept as app_old).
#   plain-refresh.sh SSH_IDENTITY KNOWN_HOSTS STORE_ADDRESS STAGING_ADDRESS
# No guards, no checksums, no PII scan, no journal. Needs root ssh from staging to the store (run.sh sets it up).
set -euo pipefail

identity=$1 known_hosts=$2 store=$3 staging=$4
ssh_opts=(-i "$identity" -o "UserKnownHostsFile=$known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
# shellcheck disable=SC2029 # the commands are meant to expand on the hosts
on_store() { ssh "${ssh_opts[@]}" "root@$store" "$@"; }
# shellcheck disable=SC2029
on_staging() { ssh "${ssh_opts[@]}" "root@$staging" "$@"; }
psql_on_staging() { on_staging "cd / && su postgres -c 'psql -X -q -v ON_ERROR_STOP=1 -d $1'"; }
step() { printf '[plain %s] %s\n' "$(date +%H:%M:%S.%N | cut -c1-12)" "$*" >&2; }

step "latest backup"
latest=$(on_store 'ls -1d /srv/ironclad/backups/br-prod/app/*/ | tail -n 1')
[[ -n $latest ]] || { echo "no backup" >&2; exit 1; }

# (the store keeps dumps encrypted with age, a custom-format file or a directory dump in a tar; staging holds an
# identity that decrypts them, as every restorer does)
latest=${latest}data/
file=$(on_store "cd $latest && ls dump.pgdump.age dump.tar.age 2>/dev/null | head -n 1")
[[ -n $file ]] || { echo "no dump in $latest" >&2; exit 1; }
step "scp ${latest}$file from the store to staging, decrypted there"
on_staging "set -e; rm -rf /var/tmp/plain-refresh; mkdir -m 700 /var/tmp/plain-refresh; cd /var/tmp/plain-refresh
  scp -q -i /root/.ssh/plain_ed25519 -o BatchMode=yes root@$store:${latest}$file $file
  if [ $file = dump.tar.age ]; then mkdir dump && age -d -i /var/lib/ironclad/age-identity $file | tar -x -C dump; else age -d -i /var/lib/ironclad/age-identity -o dump $file; fi
  rm $file && chown -R postgres /var/tmp/plain-refresh"

step "pg_restore into app_new (one job)"
psql_on_staging postgres <<'SQL'
DROP DATABASE IF EXISTS app_new WITH (FORCE);
CREATE DATABASE app_new OWNER app;
SQL
on_staging "cd / && su postgres -c 'pg_restore -d app_new --no-owner --no-acl --role=app --exit-on-error /var/tmp/plain-refresh/dump'"

step "scrub"
psql_on_staging app_new <<'SQL'
BEGIN;
TRUNCATE payment_methods;
TRUNCATE sessions;
UPDATE users SET
  email = CASE WHEN email IN ('dev@example.com', 'qa@example.com') THEN email
               ELSE 'user-' || substr(md5(email), 1, 12) || '@example.invalid' END,
  full_name = (ARRAY['Alex', 'Sam', 'Robin', 'Kim', 'Jo', 'Max', 'Noor', 'Ari'])[1 + abs(hashtext(full_name || 'first')) % 8]
              || ' ' || (ARRAY['Example', 'Sample', 'Tester', 'Placeholder', 'Doe', 'Roe', 'Fictus', 'Nemo'])[1 + abs(hashtext(full_name || 'last')) % 8],
  phone = NULL,
  password_hash = '$2b$12$stagingstagingstagingstagingstagingstagingstaginO';
UPDATE orders SET shipping_address = (1 + abs(hashtext(shipping_address || 'street')) % 999)::text || ' Example Street, Testville'
 WHERE shipping_address IS NOT NULL;
COMMIT;
SQL

step "promote"
psql_on_staging app_new <<'SQL'
UPDATE users SET role = 'admin' WHERE email IN ('dev@example.com', 'qa@example.com');
SQL

step "swap (app -> app_old, app_new -> app)"
psql_on_staging postgres <<'SQL'
DROP DATABASE IF EXISTS app_old WITH (FORCE);
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN ('app', 'app_new') AND pid <> pg_backend_pid();
ALTER DATABASE app RENAME TO app_old;
ALTER DATABASE app_new RENAME TO app;
SQL

step "remove the dump"
on_staging 'rm -rf /var/tmp/plain-refresh'
step "done"
