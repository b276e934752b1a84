# ironclad images check, the source's side (no Node.js): the only thing the replica host's check key may run here.
# Installed by `ironclad apply` as /usr/local/sbin/ironclad-images-source-NAME, the forced command of that key
# (authorized_keys: restrict,from="REPLICA",command="..."). ROOT (the pair's tree), UNIT, SCAN (scan.sh) and READ
# (read.sh) are fixed above it by apply; the caller names only what to do, in words each checked against a closed
# list: nothing it sends is evaluated, and no option or tree comes from it.
#   op=probe                                     the hashes this host can compute (algos=), and read=yes
#   op=scan algo=sha256|blake3 mode=rehash       scan ROOT (stats on stdout), the manifest kept for op=manifest
#   op=scan algo=... mode=slice slices=S slice=K the same, rehashing slice K of S (S <= 100000)
#   op=manifest                                  the last scan's manifest, gzipped, then removed
#   op=forget                                    remove it
#   op=read offset=N                             a pulled repair: the bytes from N (1-based) of the file of ROOT whose
#                                                path (relative, at most 4096 bytes) comes on stdin; read.sh refuses
#                                                absolute paths, '.', '..', links, devices, anything outside ROOT
#                                                (exit 65 refused, 66 not a regular file)
# The words come as arguments (a pair whose trees share a host), else from SSH_ORIGINAL_COMMAND (split at spaces).
# Exit: the scanner's, or 64 for anything else (refused), 66 no manifest to give.
set -eu
LC_ALL=C
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL PATH
unset XDG_CACHE_HOME
refuse() { printf 'ironclad-images-source %s: refused: %s\n' "$UNIT" "$1" >&2; exit 64; }
if [ $# -eq 0 ]; then
  words=${SSH_ORIGINAL_COMMAND:-}
  [ -n "$words" ] || refuse 'this key runs the image scanner only (op=probe, op=scan, op=manifest, op=forget, op=read)'
  [ ${#words} -le 200 ] || refuse 'too long'
  IFS=' '
  set -f
  # shellcheck disable=SC2086 # split at spaces on purpose; globbing is off
  set -- $words
  set +f
  unset IFS
fi
[ $# -le 5 ] || refuse 'too many words'
op='' algo='' mode='' slices='' slice='' offset=''
# A count: digits, no leading zero (0 itself allowed when $2 is 0), at most six of them.
count() {
  case $1 in '' | *[!0-9]* | 0?*) refuse "not a count: $1" ;; esac
  if [ ${#1} -gt 6 ] || [ "$1" -lt "$2" ]; then refuse "out of range: $1"; fi
}
for w do
  case $w in
    op=probe | op=scan | op=manifest | op=forget | op=read) [ -z "$op" ] || refuse 'op twice'; op=${w#op=} ;;
    algo=sha256 | algo=blake3) [ -z "$algo" ] || refuse 'algo twice'; algo=${w#algo=} ;;
    mode=rehash | mode=cached | mode=slice) [ -z "$mode" ] || refuse 'mode twice'; mode=${w#mode=} ;;
    slices=*) [ -z "$slices" ] || refuse 'slices twice'; slices=${w#slices=}; count "$slices" 1 ;;
    slice=*) [ -z "$slice" ] || refuse 'slice twice'; slice=${w#slice=}; count "$slice" 0 ;;
    offset=*)
      [ -z "$offset" ] || refuse 'offset twice'
      offset=${w#offset=}
      case $offset in '' | *[!0-9]* | 0*) refuse "not an offset: $offset" ;; esac
      [ ${#offset} -le 15 ] || refuse "out of range: $offset"
      ;;
    *) refuse 'an argument this entry point does not take' ;;
  esac
done
scan() { sh -c "$SCAN" ironclad-images "root=$ROOT" "$@"; }
prefix() {
  p=$(scan op=probe | sed -n 's/^prefix=//p')
  case $p in /*) printf '%s' "$p" ;; *) exit 66 ;; esac
}
case $op in
  probe)
    [ -z "$algo$mode$slices$slice$offset" ] || refuse 'probe takes nothing more'
    scan op=probe | grep '^algos='
    echo read=yes
    ;;
  scan)
    if [ -z "$algo" ] || [ -z "$mode" ]; then refuse 'scan needs algo= and mode='; fi
    [ -z "$offset" ] || refuse 'offset= goes with op=read only'
    if [ "$mode" = slice ]; then
      if [ -z "$slices" ] || [ -z "$slice" ] || [ "$slice" -ge "$slices" ] || [ "$slices" -gt 100000 ]; then refuse 'mode=slice needs slice= below slices= (at most 100000)'; fi
      set -- "slices=$slices" "slice=$slice"
    else
      [ -z "$slices$slice" ] || refuse 'slices= and slice= go with mode=slice only'
      set --
    fi
    m=$(prefix).$UNIT.manifest.gz
    scan op=scan "algo=$algo" "mode=$mode" "$@" "manifest=$m" pack=gz
    ;;
  manifest | forget)
    [ -z "$algo$mode$slices$slice$offset" ] || refuse "$op takes nothing more"
    m=$(prefix).$UNIT.manifest.gz
    if [ "$op" = forget ]; then rm -f -- "$m"; exit 0; fi
    [ -f "$m" ] || { echo "ironclad-images-source $UNIT: no manifest (scan first)" >&2; exit 66; }
    cat -- "$m"
    rm -f -- "$m"
    ;;
  read)
    [ -z "$algo$mode$slices$slice" ] || refuse 'read takes offset= only'
    [ -n "$offset" ] || refuse 'read needs offset='
    exec sh -c "${READ:?}" ironclad-read "$ROOT" "$offset"
    ;;
  *) refuse 'no op=' ;;
esac
