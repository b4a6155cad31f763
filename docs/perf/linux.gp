# Plots the Linux boot benchmark (linux.tsv): virtual time to the /init line and to power-off,
# through the VCPU server and bare. Run from the repository root: `gnuplot docs/perf/linux.gp`
# (what `make docs` does); writes docs/perf/linux.svg.

set datafile separator "\t"
set terminal svg size 700,320 dynamic noenhanced font 'Helvetica,11' background '#ffffff'
set output 'docs/perf/linux.svg'
set title 'Debian Linux 6.1 boot (quiet), virtual time under -icount (lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set ylabel 'ms of virtual time'
set yrange [0:*]
set border 3
set xtics nomirror scale 0
set ytics nomirror
set key below horizontal
plot 'docs/perf/linux.tsv' using 2:xtic(1) title 'through the VCPU server' lc rgb '#3b6ea5', \
     '' using 3 title 'bare QEMU at EL1 (no hypervisor)' lc rgb '#a0a0a0'
