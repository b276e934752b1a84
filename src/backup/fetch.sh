# --- body: fetch one committed backup from the store onto this host and decrypt it (POSIX sh, as root). ---
# Rendered above: STORE (user@address), PORT, SRC ("HOST DB ID" on the store), DIR (a new folder of its own), OWNER
# (who may read the result), CIPHERS. Uses the read key, which the store lets read only the backups this host
# restores. Resumable (each file continues from the bytes it has); every checksum verified before anything is
# decrypted; the plaintext is 0600 in a 0700 folder; on any failure the folder is removed. Prints `@@counts JSON`
# (the row counts the backup carries) and `@@bytes N`.
set -eu
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
fail() { printf 'ironclad-fetch: %s\n' "$*" >&2; rm -rf "$DIR"; exit 1; }
# One SSH connection to the store for the whole fetch (the list, then each file): one handshake instead of one a file
# (~0.2 s each). Each call still runs the store's forced command on its own; a call that finds no connection (not open
# yet, or dropped) connects on its own. The socket is root's, in the 0700 folder above DIR; the connection ends with the
# script (and, should the script be killed, 30 s after its last call). The shared connection gets 5 s to open, so that
# a store out of reach fails the fetch about as soon as before (the list's own connection then waits its 20 s).
CTL="$(dirname "$DIR")/.fetch-$$.ctl"
ssh_store() { ssh -i /var/lib/ironclad/refresh_ed25519 -p "$PORT" -o Ciphers="$CIPHERS" -o BatchMode=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile=/var/lib/ironclad/known_hosts -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o ControlPath="$CTL" "$@"; }
store() { ssh_store -n -o ConnectTimeout=20 -o ControlMaster=no "$STORE" "$@"; }
close_store() { [ -e "$CTL" ] || return 0; ssh_store -O exit "$STORE" > /dev/null 2>&1 || true; rm -f "$CTL"; }
# shellcheck disable=SC2086  # SRC is three names the caller validated
set -- $SRC
mkdir -p "$(dirname "$DIR")" && chmod 700 "$(dirname "$DIR")" || fail "cannot make $(dirname "$DIR")"
rm -f "$CTL"
trap close_store EXIT
ssh_store -o ConnectTimeout=5 -o ControlMaster=yes -o ControlPersist=30 -f -N "$STORE" < /dev/null > /dev/null 2>&1 || true # else each call connects
[ ! -L "$DIR" ] || fail "$DIR is a symlink"
mkdir -p "$DIR" && chown root: "$DIR" && chmod 700 "$DIR" || fail "cannot make $DIR"
cd "$DIR" || fail "cannot enter $DIR"
store files "$1" "$2" "$3" > SHA256SUMS.new 2> .err || fail "the store refused the list of files: $(tail -n 2 .err)"
mv SHA256SUMS.new SHA256SUMS
while read -r _ name; do
  case "$name" in '' | .* | */.* | */*/* | /*) fail "a file name the store listed is not plain: $name" ;; esac
  case "$name" in */*) mkdir -p "${name%/*}" ;; esac
  have=$(stat -c %s "$name" 2> /dev/null || echo 0)
  # shellcheck disable=SC2094  # stat above, then append: the same file on purpose (a resumed fetch)
  store get "$1" "$2" "$3" "$name" "$have" >> "$name" 2> .err || fail "fetching $name failed: $(tail -n 2 .err)"
done < SHA256SUMS
sums_check SHA256SUMS > .err 2>&1 || fail "checksums do not match: $(head -n 3 .err | tr '\n' ' ')"
rm -f .err
counts=null
if [ -f counts.json.age ]; then
  age -d -i /var/lib/ironclad/age-identity counts.json.age > counts.json 2> .err || fail "cannot decrypt the backup with this host's identity: $(tail -n 1 .err)"
  counts=$(tr -d '\n' < counts.json)
  if [ -f dump.pgdump.age ]; then
    age -d -i /var/lib/ironclad/age-identity -o dump.pgdump dump.pgdump.age 2> .err || fail "decrypting the dump failed: $(tail -n 1 .err)"
  elif [ -f dump.tar.age ]; then
    age -d -i /var/lib/ironclad/age-identity -o dump.tar dump.tar.age 2> .err || fail "decrypting the dump failed: $(tail -n 1 .err)"
    # only plain files of a flat folder, as pg_dump writes it: nothing the tar says is followed or trusted
    if tar -tvf dump.tar | awk '$1 !~ /^-/ && $NF != "./" { bad = 1 } END { exit !bad }'; then fail "the dump's archive holds something other than plain files"; fi
    if tar -tf dump.tar | grep -v -x -e './' -e './[A-Za-z0-9._-]*' -e '[A-Za-z0-9._-]*' > /dev/null; then fail "the dump's archive names a file outside its folder"; fi
    mkdir -m 700 dump && tar -C dump --no-same-owner --no-same-permissions -xf dump.tar || fail "unpacking the dump failed"
    rm -f dump.tar
  fi
  rm -f ./*.age
fi
find . -type d -exec chmod 700 {} + && find . -type f -exec chmod 600 {} +
chown -R "$OWNER" "$DIR"
printf '@@counts %s\n@@bytes %s\n' "$counts" "$(du -sb . | cut -f1)"
