#!/usr/bin/env bash
# Install what ironclad and its lab need on a Debian 12 machine (as root): used by the demo and by CI.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -q
# Real parts: PostgreSQL, sshd, rsync, iproute2 for the lab's namespaces, shellcheck for the rendered jobs.
# Node.js >= 20: Debian 13 ships it; on Debian 12 install it from NodeSource first (Debian 12's own is 18).
command -v node >/dev/null || apt-get install -y -q --no-install-recommends nodejs npm
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "ironclad needs Node.js >= 20 (found $(node --version))" >&2; exit 1; }
apt-get install -y -q --no-install-recommends \
  git postgresql postgresql-15 postgresql-client-15 postgresql-contrib \
  openssh-server openssh-client rsync iproute2 shellcheck procps psmisc util-linux bsdutils ca-certificates
# age encrypts backups for their recipients; zstd compresses the point-in-time archive; sudo lets the backup store's restricted account ask root for a commit.
apt-get install -y -q --no-install-recommends age zstd sudo
# strace: a test proves the store fsyncs every file and folder of a backup before it answers (test/backup/store.test.ts).
apt-get install -y -q --no-install-recommends strace
# b3sum: images compare and repair hash with BLAKE3 where both sides have it (SHA-256 otherwise).
apt-get install -y -q --no-install-recommends b3sum
# The systemd lab flavor: hosts booted by systemd-nspawn from a Debian tree debootstrap makes once.
apt-get install -y -q --no-install-recommends systemd-container debootstrap
# The audit's HTML report is opened in headless Chromium by its end-to-end test.
apt-get install -y -q --no-install-recommends chromium
# Lab hosts have no route to the registries: the .deb files they reinstall from must be in the local cache.
apt-get install -y -q --no-install-recommends --download-only --reinstall \
  postgresql-15 postgresql-client-15 postgresql-common postgresql-client-common

# The machine's own default cluster must not run: lab hosts start from this machine's files with none running.
pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop 2>/dev/null || true
done
