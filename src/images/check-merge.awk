# ironclad images check on a host: merge two path-sorted manifests (scan.sh's NUL-terminated records, TAB-separated
# HASH SIZE MTIME CTIME INODE PATH) and count the verdicts, as src/images/diff.ts and summary.ts do in the CLI:
# only on the source: missing (source_rot when rotten); only on the replica: extra; on both: source_rot when the
# source rotted, else size_mismatch, else unreadable, else the hashes when both sides have one (equal when not).
# Input: the replica's manifest; -v src=FILE the source's. Output: key=value lines.
function sread(line, t) {
  if ((getline line < src) <= 0) { sdone = 1; return }
  split(line, t, "\t")
  shash = t[1]; ssize = t[2]; spath = substr(line, length(t[1] t[2] t[3] t[4] t[5]) + 6)
  if (spath <= slast && scount) { bad = "the source's manifest is not sorted"; sdone = 1; return }
  slast = spath; scount++
}
# The hash a record vouches for now: its own, or a rotten file's new one; "" when unhashed or unreadable.
function current(h, s) { if (h == "-" || h == "!") return ""; s = index(h, "/"); return s ? substr(h, 1, s - 1) : h }
function rotten(h) { return h != "-" && h != "!" && index(h, "/") > 0 }
function onsource() { sfiles++; sbytes += ssize }
function sourceonly() { onsource(); if (rotten(shash)) n["source_rot"]++; else n["missing"]++ }
BEGIN {
  RS = "\0"; FS = "\t"
  split("missing extra size_mismatch content_mismatch source_rot unreadable", kinds, " ")
  for (k in kinds) n[kinds[k]] = 0
  sread()
}
{
  rhash = $1; rsize = $2; rpath = substr($0, length($1 $2 $3 $4 $5) + 6)
  if (rpath <= rlast && NR > 1) { bad = "the replica's manifest is not sorted"; exit 2 }
  rlast = rpath
  while (!sdone && spath < rpath) { sourceonly(); sread() }
  rfiles++; rbytes += rsize
  if (sdone || spath != rpath) { n["extra"]++; next }
  onsource()
  if (rotten(shash)) n["source_rot"]++
  else if (ssize != rsize) n["size_mismatch"]++
  else if (shash == "!" || rhash == "!") n["unreadable"]++
  else if (current(shash) != "" && current(rhash) != "" && current(shash) != current(rhash)) n["content_mismatch"]++
  else equal++
  sread()
}
END {
  if (bad != "") { print bad > "/dev/stderr"; exit 2 }
  while (!sdone) { sourceonly(); sread() }
  problems = 0
  for (k = 1; k <= 6; k++) { printf "%s=%.0f\n", kinds[k], n[kinds[k]]; problems += n[kinds[k]] }
  printf "source_files=%.0f\nsource_bytes=%.0f\nreplica_files=%.0f\nreplica_bytes=%.0f\nequal=%.0f\nproblems=%.0f\nbytes_max=%.0f\n", \
    sfiles, sbytes, rfiles, rbytes, equal, problems, (sbytes > rbytes ? sbytes : rbytes)
}
