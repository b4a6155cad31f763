# Plots the host benchmark results (host.tsv) as two horizontal bar charts: the server core's
# dispatch and the protocol codec. Run from the repository root: `gnuplot docs/perf/plot.gp`
# (what `make docs` does); writes docs/perf/host.svg.

set datafile separator "\t"

# One datablock per bench: case, time in ns.
set table $dispatch separator tab
plot 'docs/perf/host.tsv' using (strcol(2)):3 with table if (strcol(1) eq 'dispatch')
set table $codec separator tab
plot 'docs/perf/host.tsv' using (strcol(2)):3 with table if (strcol(1) eq 'codec')
unset table

set terminal svg size 900,1050 dynamic noenhanced font 'Helvetica,11' background '#ffffff'
set lmargin 34
set output 'docs/perf/host.svg'
set style fill solid 0.8 border -1
set grid xtics lc rgb '#dddddd'
set yrange [*:*] reverse
set ytics nomirror scale 0 font ',10'
set xtics nomirror
set border 3
set xrange [0:*]
set xlabel 'time (ns)'
unset key

# Bars: x from 0 to the time, y the row's position (0 = first case, at the top).
bar = 'using 2:0:(0):2:($0 - 0.35):($0 + 0.35):ytic(1) with boxxyerror'

set multiplot layout 2,1 title 'VCPU server, host benchmarks (criterion point estimates, lower is better)'
set title 'Dispatch: decoded request or guest exit to reply, on the recording fake backend'
plot $dispatch @bar lc rgb '#2b5fa8'
set title 'Codec: request encode + decode, reply encode + decode'
plot $codec @bar lc rgb '#b0483d'
unset multiplot
