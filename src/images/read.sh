#!/bin/sh
# ironclad images repair, where the source lives: print a file's bytes from OFFSET (1-based), all or COUNT of them,
# raw or as base64; or (OFFSET = modes) the permission bits of each file named on stdin. The path comes on stdin (any
# bytes, at most 4096 of them) and is not trusted: absolute paths, '.', '..' or empty components, a directory resolving
# outside the tree, anything but a regular file are refused. Once opened, the file is checked again where the kernel
# has it (/proc/self/fd): it must be a regular file at exactly ROOT/PATH, so no symbolic link anywhere in the path
# (even one swapped in after the first check) and no device, FIFO or socket is ever read.
# Usage: sh -c SCRIPT ironclad-read ROOT OFFSET [COUNT [base64]]
#        sh -c SCRIPT ironclad-read ROOT modes    stdin: a path a line, written for printf (\NNN octal escapes, as
#                                                 repair.sh's tasks); stdout: a line each, its mode in octal (stat %a,
#                                                 setuid/setgid/sticky included) or '-' when refused or not a file
# exit: 0 bytes sent, 65 refused path, 66 no such directory or not a regular file.
set -eu
cd -- "$1" 2>/dev/null || exit 66
r=$(pwd -P)
nl='
'

# 0: $p is a regular file inside the tree; 65: a path that leads out; 66: no such file.
check() {
  case $p in '' | /*) return 65 ;; esac
  case /$p/ in */../* | */./* | *//*) return 65 ;; esac
  case $p in */*) d=${p%/*} ;; *) d=. ;; esac
  a=$(cd -- "./$d" 2>/dev/null && pwd -P) || return 66
  case $a/ in "$r"/*) ;; *) return 65 ;; esac
  if [ ! -f "./$p" ] || [ -L "./$p" ]; then return 66; fi
}

if [ "$2" = modes ]; then
  while IFS= read -r esc; do
    # shellcheck disable=SC2059 # the path is written as a printf format of octal escapes (no % can be in it)
    p=$(printf "x${esc}x")
    p=${p#x} p=${p%x}
    if check; then stat -c %a -- "./$p" 2>/dev/null || echo -; else echo -; fi
  done
  exit 0
fi
case $2 in '' | *[!0-9]* | 0*) exit 64 ;; esac
p=$(head -c 4097; echo x)
p=${p%x}
[ ${#p} -le 4096 ] || exit 65
rc=0
check || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
{ command exec 3<"./$p"; } 2>/dev/null || exit 66
# the file as opened: a regular file, at the very path checked (no link followed, nothing swapped in since)
[ -f "/proc/$$/fd/3" ] || exit 66
got=$(readlink "/proc/$$/fd/3"; echo x)
got=${got%x} got=${got%"$nl"}
case $r in /) want=/$p ;; *) want=$r/$p ;; esac
[ "$got" = "$want" ] || exit 65
if [ -z "${3:-}" ]; then exec tail -c +"$2" <&3; fi
case $3 in *[!0-9]*) exit 64 ;; esac
if [ "${4:-}" = base64 ]; then tail -c +"$2" <&3 | head -c "$3" | base64 -w0; else tail -c +"$2" <&3 | head -c "$3"; fi
