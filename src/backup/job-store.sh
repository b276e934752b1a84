# --- body: the backup job's connection to the store (POSIX sh), part of the job (src/backup/job.sh, rendered before it):
# one SSH connection for a run, the store's verbs over it, the resumable rsync, the commit. ---
# One SSH connection to the store serves every call of a run (the last good backup, the upload, the commit): one
# handshake instead of three. Each call still runs the store's forced command on its own; a call finds no connection
# (not opened yet, or it dropped), it connects on its own as before. Only root can use the socket (umask 077, $WORK 711).
CTL="$WORK/.store.ctl"
open_store() {
  [ -S "$CTL" ] && return 0
  ssh -i "$KEY" -p "$STORE_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN" -o Ciphers="$CIPHERS" \
      -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 \
      -o ControlMaster=yes -o ControlPath="$CTL" -o ControlPersist=600 -f -N "$STORE_USER@$STORE_ADDR" \
      < /dev/null > /dev/null 2> "$WORK/.store.err" 4>&- 9>&- || { cat "$WORK/.store.err" >&2; return 1; }
}
close_store() { # ends the shared connection (also one a killed run left behind)
  [ -e "$CTL" ] || return 0
  ssh -o ControlPath="$CTL" -O exit "$STORE_USER@$STORE_ADDR" > /dev/null 2>&1 || true
  rm -f "$CTL"
}

ship() { # ship DIR ID: resumable rsync into the store's incoming area (the store's rrsync allows writing only)
  rsync -a --partial --partial-dir=.partial --timeout=60 \
    -e "ssh -i $KEY -p $STORE_PORT -o Ciphers=$CIPHERS -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$KNOWN -o ConnectTimeout=20 -o ControlMaster=no -o ControlPath=$CTL" \
    "$1/" "$STORE_USER@$STORE_ADDR:$2/" 2> "$WORK/.rsync.err"
}

commit() { # commit DIR UPLOAD DB [FILE...]: the store checks the upload and gives it its id (printed); the local copy goes
  # only once the store answered, durably: kept when the answer did not come (the next run resumes), dropped when refused.
  # FILEs (small ones of DIR) go up in the same call, one after the other, before the store commits (one round trip less)
  cdir=$1 cup=$2 cdb=$3; shift 3
  sizes=''  # NAME BYTES of each, one stat for all
  if [ $# -gt 0 ]; then sizes=$(cd "$cdir" && stat -c '%n %s' -- "$@") || return 1; fi
  crc=0
  # shellcheck disable=SC2086  # NAME BYTES pairs (the job's own file names, numbers): split on purpose
  if [ $# -gt 0 ]; then (cd "$cdir" && cat -- "$@"); fi | store commit "$cup" "$cdb" $sizes > "$WORK/.commit.out" 2> "$WORK/.commit.err" || crc=$?
  [ "$crc" -ne 3 ] || { rm -rf "$cdir"; return 3; }
  [ "$crc" -eq 0 ] || { [ -s "$WORK/.commit.err" ] || echo "no word from the store (exit $crc)" > "$WORK/.commit.err"; return 1; }
  sed -n 's/^committed \([^ ]*\).*/\1/p' "$WORK/.commit.out"
  rm -rf "$cdir"
}

said_store() { # what the store itself said when it refused a transfer (its reason, not rsync's)
  grep -h '^ironclad-store: ' "$WORK/.send.err" "$WORK/.rsync.err" 2> /dev/null | tail -n 1
}

discard() { # the upload of a backup that failed or was refused leaves the store's incoming area (a committed backup is
  # never touched: the store removes only an upload not committed yet); when the upload itself failed, the store's
  # retention removes what arrived after a week
  [ -n "${uploading:-}" ] || return 0
  urc=0; wait "$uploading" 2>/dev/null || urc=$?
  uploading=''; background=''
  [ "$urc" -ne 0 ] || store discard "$up" > /dev/null 2>&1 || true
}

connected() { # wait until the connection opened in the background is up; false, saying why, when it could not be opened
  # (its opening leaves a mark when it ends, up or not: a test of its process would also see a child not reaped yet)
  while [ ! -S "$CTL" ] && [ ! -e "$WORK/.store.opened" ]; do sleep 0.01; done
  [ -S "$CTL" ] || { cat "$WORK/.store.err" >&2; return 1; }
}

store() { # store ARGS...: a verb for the restricted store account (forced command)
  ssh -i "$KEY" -p "$STORE_PORT" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN" -o Ciphers="$CIPHERS" \
      -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o ControlMaster=no -o ControlPath="$CTL" \
      "$STORE_USER@$STORE_ADDR" "$@"
}
