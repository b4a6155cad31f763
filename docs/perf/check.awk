# Checks that host.tsv holds exactly the results the tables of docs/PERFORMANCE.md show, so the
# plot and the tables cannot drift apart. Run from the repository root (`make docs` does):
#   awk -F'\t' -f docs/perf/check.awk docs/perf/host.tsv docs/PERFORMANCE.md
# Table rows look like `| case | 505.88 ns |` or `| case | 1.1151 µs |`.

FNR == NR {
    if ($0 !~ /^#/ && $1 != "bench") { tsv[$2] = $3; want++ }
    next
}
/^\| .* \| [0-9.]+ (ns|µs) \|$/ {
    n = split($0, cell, / *\| */)
    name = cell[2]; split(cell[3], t, " ")
    ns = t[1] * (t[2] == "ns" ? 1 : 1000)
    if (!(name in tsv)) { print "PERFORMANCE.md: `" name "` is not in host.tsv"; bad++; next }
    d = tsv[name] - ns; if (d < 0) d = -d
    if (d > 0.001 * ns) { print "`" name "`: " tsv[name] " ns in host.tsv, " ns " ns in PERFORMANCE.md"; bad++ }
    seen++
}
END {
    if (seen != want) { print "host.tsv has " want " results, PERFORMANCE.md shows " seen; bad++ }
    exit bad ? 1 : 0
}
