# Plots the seL4 benchmark (`make bench` writes docs/perf/sel4.tsv; docs/perf/sel4-before.tsv is
# the first run, before issue 13's optimisations): the median of every path, before and after,
# in virtual-counter ticks. Both files list the paths in the same order. Run from the repository
# root: `gnuplot docs/perf/sel4.gp` (what `make docs` does); writes docs/perf/sel4.svg.

set datafile separator "\t"
set datafile commentschars "#"
set terminal svg size 900,420 dynamic noenhanced font 'Helvetica,11' background '#ffffff'
set output 'docs/perf/sel4.svg'
set title 'VCPU server on seL4 (QEMU -icount, reference debug kernel): median ticks per path, lower is better'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set ylabel 'virtual-counter ticks (1 tick = 16 instructions)'
set yrange [0:*]
set border 3
set xtics nomirror rotate by -40 scale 0
set ytics nomirror
set key top left
plot 'docs/perf/sel4-before.tsv' every ::1 using 2:xtic(1) title 'before (15ae0f1)' lc rgb '#a0a0a0', \
     'docs/perf/sel4.tsv' every ::1 using 2 title 'after' lc rgb '#3b6ea5'
