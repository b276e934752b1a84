#!/bin/sh
# ironclad images repair, where the source lives: print a file's bytes from OFFSET (1-based), all or COUNT of them,
# raw or as base64. The path comes on stdin (any bytes) and is not trusted: absolute paths, '.', '..' or empty
# components, a directory resolving outside the tree, anything but a regular file are refused.
# Usage: sh -c SCRIPT ironclad-read ROOT OFFSET [COUNT [base64]]
# exit: 0 bytes sent, 65 refused path, 66 no such directory or not a regular file.
set -eu
cd -- "$1" 2>/dev/null || exit 66
r=$(pwd -P)
p=$(cat; echo x)
p=${p%x}
case $p in '' | /*) exit 65 ;; esac
case /$p/ in */../* | */./* | *//*) exit 65 ;; esac
case $p in */*) d=${p%/*} ;; *) d=. ;; esac
a=$(cd -- "./$d" 2>/dev/null && pwd -P) || exit 66
case $a/ in "$r"/*) ;; *) exit 65 ;; esac
if [ ! -f "./$p" ] || [ -L "./$p" ]; then exit 66; fi
if [ -z "${3:-}" ]; then exec tail -c +"$2" -- "./$p"; fi
if [ "${4:-}" = base64 ]; then tail -c +"$2" -- "./$p" | head -c "$3" | base64 -w0; else tail -c +"$2" -- "./$p" | head -c "$3"; fi
