# --- body: put a finished point-in-time restore in service in place of the host's cluster (POSIX sh, as root). ---
# Rendered above: VERSION, CLUSTER (the restored one, finished by this run), LIVE (the cluster it replaces, as the
# inventory names it) and LIVE_PORT, KEPT (the name the replaced cluster is kept under, with its time). The live
# cluster (running, or dead) is stopped and kept, whole, under KEPT on the restored cluster's old port with
# start.conf manual (it never starts beside the new one); the restored cluster takes LIVE's name, data directory
# path and port, and LIVE's configuration (postgresql.conf, pg_hba.conf, pg_ident.conf, conf.d: the addresses it
# listens on, TLS, who may connect; its paths name LIVE's data directory, which the restored cluster takes), keeping
# its own conf.d/ironclad-pitr.conf; then it starts. Nothing is deleted. Prints @@kept KEPT PORT.
set -eu
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
fail() { printf 'ironclad-pitr-swap: %s\n' "$*" >&2; exit 1; }
refuse() { printf 'ironclad-pitr-swap: refused: %s\n' "$*" >&2; exit 3; }
# The clusters' folders and logs are postgres' own, where postgres can plant a link: root writes no file there but
# through Debian's tools; it reads none but as copies of links as links (postgres reads, and writes what is written).
pg() { runuser -u postgres -- "$@"; }
put() { pg sh -c 'umask 022; rm -f "$1.tmp" && cat > "$1.tmp" && mv "$1.tmp" "$1"' sh "$1"; }
cd / || exit 1
etc=/etc/postgresql/$VERSION
ctl() { if [ -d /run/systemd/system ]; then systemctl "$1" "postgresql@$VERSION-$2"; else pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$2" "$1"; fi; }
state() { pg_lsclusters -h "$VERSION" "$1" 2> /dev/null | awk '{ print $4 }'; }
grep -q '^# ironclad pitr restore of .*promoted [0-9]' "$etc/$CLUSTER/conf.d/ironclad-pitr.conf" 2> /dev/null ||
  refuse "$VERSION/$CLUSTER is not a finished point-in-time restore"
[ ! -e "$etc/$KEPT" ] && [ ! -e "/var/lib/postgresql/$VERSION/$KEPT" ] || refuse "$VERSION/$KEPT already exists"
rport=$(pg_conftool -s "$VERSION" "$CLUSTER" show port) || fail "cannot read the restored cluster's port"
case "$rport" in '' | *[!0-9]*) fail "the restored cluster's port is not a number" ;; esac
[ "$(state "$CLUSTER")" = online ] || fail "the restored cluster $VERSION/$CLUSTER is not running"
saved=""
if [ -d "$etc/$LIVE" ]; then
  mkdir -p /var/lib/ironclad && saved=$(mktemp -d /var/lib/ironclad/swap-conf.XXXXXX) && cp -a "$etc/$LIVE/." "$saved/" ||
    fail "cannot keep a copy of $VERSION/$LIVE's configuration"
  if [ "$(state "$LIVE")" = online ]; then ctl stop "$LIVE" || fail "cannot stop $VERSION/$LIVE"; fi
  pg_renamecluster "$VERSION" "$LIVE" "$KEPT" || fail "cannot rename $VERSION/$LIVE to $KEPT"
  pg_conftool "$VERSION" "$KEPT" set port "$rport"
  echo manual | put "$etc/$KEPT/start.conf" || fail "cannot write $etc/$KEPT/start.conf"
  printf '@@kept %s %s\n' "$KEPT" "$rport"
fi
ctl stop "$CLUSTER" || fail "cannot stop the restored cluster"
pg_renamecluster "$VERSION" "$CLUSTER" "$LIVE" || fail "cannot rename $VERSION/$CLUSTER to $LIVE"
if [ -n "$saved" ]; then
  pitr=$(pg head -c 65536 "$etc/$LIVE/conf.d/ironclad-pitr.conf") || fail "cannot read the restored cluster's conf.d/ironclad-pitr.conf"
  find "$etc/$LIVE" -mindepth 1 -maxdepth 1 ! -name start.conf -exec rm -rf {} + &&
    tar -C "$saved" --exclude=./start.conf -cf - . | runuser -u postgres -- tar -C "$etc/$LIVE" --no-same-owner -xf - &&
    pg mkdir -p "$etc/$LIVE/conf.d" && printf '%s\n' "$pitr" | put "$etc/$LIVE/conf.d/ironclad-pitr.conf" && rm -rf "$saved" ||
    fail "cannot give $VERSION/$LIVE the configuration it had (a copy is in $saved)"
fi
pg_conftool "$VERSION" "$LIVE" set port "$LIVE_PORT"
pitr=$(pg sed "s/^port = .*/port = $LIVE_PORT/" "$etc/$LIVE/conf.d/ironclad-pitr.conf") && printf '%s\n' "$pitr" | put "$etc/$LIVE/conf.d/ironclad-pitr.conf" && echo auto | put "$etc/$LIVE/start.conf" ||
  fail "cannot set $VERSION/$LIVE's port and start.conf"
ctl start "$LIVE" || fail "the restored cluster did not start as $VERSION/$LIVE: $(pg tail -n 3 "/var/log/postgresql/postgresql-$VERSION-$LIVE.log" 2> /dev/null)"
r=$(runuser -u postgres -- psql -X -A -t -q -p "$LIVE_PORT" -d postgres -c 'SELECT pg_is_in_recovery()') || fail "$VERSION/$LIVE does not answer after the swap"
[ "$r" = f ] || fail "$VERSION/$LIVE is not a primary after the swap"
rm -f "/var/lib/ironclad/restored/$CLUSTER.json"
