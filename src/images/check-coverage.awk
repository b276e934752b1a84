# ironclad images check on a host: the routine check's arithmetic, as src/images/coverage.ts does it in the CLI, on
# the coverage state it keeps beside the record ({"slices":S,"verified":[ISO time or null, ...],"bytes":B}).
# -v state=TEXT days=N rpd=N budget=BYTES (0: none)
# op=plan:   slices= slice= first= (1: no usable state and no budget, so this run hashes everything)
# op=record  whole=0|1 slices=S slice=K now=ISO bytes=B: state= (the new state's JSON), coverage= (the record's
#            coverage object), text=, ok= (1: no slice verified longer ago than the days)
function epoch(t, y, mo, d, mp, era, yoe, doe) { # an ISO time in UTC to seconds since 1970
  y = substr(t, 1, 4) + 0; mo = substr(t, 6, 2) + 0; d = substr(t, 9, 2) + 0
  if (mo <= 2) y--
  era = int(y / 400); yoe = y - era * 400; mp = (mo + 9) % 12
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + int((153 * mp + 2) / 5) + d - 1
  return (era * 146097 + doe - 719468) * 86400 + substr(t, 12, 2) * 3600 + substr(t, 15, 2) * 60 + substr(t, 18) * 1
}
# The state's text, believed only when whole (else the run starts over and claims no coverage).
function parse(s, at, body, items, i, item) {
  known = 0; sb = 0
  if (!match(s, /"slices":[0-9]+/)) return
  ss = substr(s, RSTART + 9, RLENGTH - 9) + 0
  at = index(s, "\"verified\":[")
  if (!at || ss < 1) return
  body = substr(s, at + 12); body = substr(body, 1, index(body, "]") - 1)
  if (split(body, items, ",") != ss) return
  for (i = 1; i <= ss; i++) {
    item = items[i]
    if (item == "null") sv[i - 1] = ""
    else if (item ~ /^"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9](\.[0-9]+)?Z"$/) sv[i - 1] = substr(item, 2, length(item) - 2)
    else return
  }
  known = 1
  if (match(s, /"bytes":[0-9]+/)) sb = substr(s, RSTART + 8, RLENGTH - 8) + 0
}
function plan(runs) {
  runs = int(days * rpd); if (runs < 1) runs = 1
  n = runs
  if (budget > 0 && sb / n > budget) { n = int(sb / budget); if (n * budget < sb) n++ }
  if (n > 10000) n = 10000
}
# The state for n slices: kept when the count is the same; else each slice gets the oldest time known ("" when any
# slice was never verified), since a path's slice depends on the count.
function resize(i, oldest) {
  if (known && ss == n) { for (i = 0; i < n; i++) v[i] = sv[i]; return }
  oldest = known ? sv[0] : ""
  for (i = 0; known && i < ss; i++) if (sv[i] == "" || sv[i] < oldest) oldest = sv[i]
  for (i = 0; i < n; i++) v[i] = oldest
}
function next_slice(i, best) {
  best = 0
  for (i = 1; i < n; i++) { if (v[best] == "") break; if (v[i] == "" || v[i] < v[best]) best = i }
  return best
}
BEGIN {
  parse(state); plan(); resize()
  if (op == "plan") { printf "slices=%d\nslice=%d\nfirst=%d\n", n, next_slice(), (!known && budget == 0) > f; exit }
  if (slices != n) { print "the plan changed during the run" > "/dev/stderr"; exit 2 }
  for (i = 0; i < n; i++) if (whole || i == slice) v[i] = now
  list = ""; within = 0; never = 0; oldest = -1; t = epoch(now)
  for (i = 0; i < n; i++) {
    list = list (i ? "," : "") (v[i] == "" ? "null" : "\"" v[i] "\"")
    if (v[i] == "") { never++; continue }
    age = (t - epoch(v[i])) / 86400
    if (age <= days) within++
    if (age > oldest) oldest = age
  }
  stale = n - within - never
  frac = within / n; pct = int(frac * 1000) / 10
  text = pct "% verified within " days " days, " (never ? never " slice(s) not verified yet (first cycle)" : "oldest " int(oldest) " days ago")
  printf "state={\"slices\":%d,\"verified\":[%s],\"bytes\":%.0f}\n", n, list, bytes > f
  printf "coverage={\"verified_fraction\":%s,\"oldest_days\":%s,\"days\":%d,\"text\":\"%s\",\"never\":%d,\"stale\":%d}\n", \
    frac, (never ? "null" : sprintf("%.6f", oldest)), days, text, never, stale > f
  printf "text=%s\nok=%d\n", text, (stale == 0) > f
}
