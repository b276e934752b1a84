# --- ironclad backup verification on the store (POSIX sh, run as root). Args: DIR. ---
# Checks what the store can check without a key: every file against SHA256SUMS, the manifest against the files and
# against what the store recorded at commit. It decrypts nothing and runs nothing from the backup (the restore drill
# runs on a host that holds the identity). Prints `problem<TAB>text` lines and a final `result<TAB>json`;
# exit 0 verified, 3 a problem found.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH LC_ALL=C
dir=$1
problems=0
problem() { printf 'problem\t%s\n' "$*"; problems=$((problems + 1)); }
data=$dir; [ -d "$dir/data" ] && data=$dir/data
[ -f "$data/manifest.json" ] || { problem "manifest.json is missing"; exit 3; }
[ -f "$data/SHA256SUMS" ] || { problem "SHA256SUMS is missing"; exit 3; }
# every file against its checksum, naming each that fails
summed=0; bad=$(cd "$data" && sums_check SHA256SUMS 2>/dev/null) || summed=$?
if [ "$summed" -ne 0 ] && [ -z "$bad" ]; then problem "SHA256SUMS lists no file"; fi
if [ -n "$bad" ]; then
  printf '%s\n' "$bad" | while IFS= read -r line; do printf 'problem\t%s\n' "checksum mismatch: ${line%%:*} (${line##*: })"; done
  problems=$((problems + $(printf '%s\n' "$bad" | grep -c .)))
fi
manifest=$(tr -d '\n' < "$data/manifest.json")
if [ -f "$dir/store.json" ]; then
  case "$(tr -d '\n' < "$dir/store.json")" in *"\"manifest\":$manifest}") ;; *) problem "manifest.json is not the manifest the store recorded at commit" ;; esac
fi
# the manifest against the files: every dump file listed with the same checksum
for f in $(cd "$data" && find . -type f ! -name SHA256SUMS ! -name manifest.json ! -name 'verified.json*' | sed 's|^\./||' | sort); do
  sum=$(grep "  $f\$" "$data/SHA256SUMS" | cut -d' ' -f1)
  case "$manifest" in *"\"$f\":\"$sum\""*) ;; *) problem "$f is not in the manifest with this checksum" ;; esac
done
tables=$(printf '%s' "$manifest" | sed -n 's/.*"tables":\([0-9]*\).*/\1/p')
rows=$(printf '%s' "$manifest" | sed -n 's/.*"rows":\([0-9]*\).*/\1/p')
[ "${tables:-0}" -gt 0 ] || problem "the manifest records no tables"
[ "${rows:-0}" -gt 0 ] || problem "the manifest records no rows"
printf 'result\t{"problems":%s,"drill":null}\n' "$problems"
[ "$problems" -eq 0 ] || exit 3
