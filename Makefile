# Thin porcelain over cargo and `cargo xtask`; all logic lives in xtask/.
#
#   make run        boot the default system in QEMU (installs tools, builds the kernel on first use)
#   make test       every tier: host tests, aarch64 builds, and the QEMU tier when a kernel can be
#                   had without the network (else it is reported as skipped, with the reason)
#   make setup      install the Rust target and the Debian packages the build needs
#   make kernel     build and cache the reference kernel (KERNEL=<config> selects another)
#   make test-qemu  boot every QEMU test manifest and judge the serial output
#   make run-linux  fetch Debian's arm64 kernel + busybox (cached) and boot manifests/linux.toml
#   make bench-linux  Linux boot through the server vs bare QEMU (measures, never asserts)
#   make check      rustfmt + clippy (host and aarch64 targets)
#   make targets    build every seL4-side crate for aarch64-unknown-none
#   make bench      boot the benchmark image, print its numbers, write docs/perf/sel4.tsv
#   make docs       regenerate the generated docs: rights and guest tables, the system diagram
#                   (Graphviz `dot`) and the benchmark plot (`gnuplot`; Debian: graphviz,
#                   gnuplot-nox)
#
# Kernel: SEL4_PREFIX (an installed kernel) if set, else the cached build of KERNEL (default
# `debug`), built from SEL4_SRC (a seL4 checkout, git directory or URL) or the public repository.

MANIFEST ?= manifests/default.toml
CARGO ?= cargo

.PHONY: test host-test test-qemu run run-linux bench-linux setup kernel check targets docs clean bench

test:
	$(CARGO) xtask test

host-test:
	$(CARGO) test

test-qemu:
	$(CARGO) xtask test-qemu

setup:
	$(CARGO) xtask setup

kernel:
	$(CARGO) xtask kernel

run: setup
	$(CARGO) xtask run --manifest $(MANIFEST)

run-linux:
	$(CARGO) xtask run-linux

bench-linux:
	$(CARGO) xtask bench-linux

targets:
	$(CARGO) xtask build-targets

check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) xtask clippy-targets

docs:
	UPDATE_DOCS=1 $(CARGO) test -p caps --test rights_doc
	UPDATE_DOCS=1 $(CARGO) test -p guests -- --test-threads=1
	dot -Tsvg docs/diagrams/system.dot -o docs/diagrams/system.svg
	awk -F'\t' -f docs/perf/check.awk docs/perf/host.tsv docs/PERFORMANCE.md
	gnuplot docs/perf/plot.gp
	gnuplot docs/perf/linux.gp
	gnuplot docs/perf/sel4.gp

clean:
	$(CARGO) clean

# The seL4 benchmark image (tests/bench/bench.toml): prints one `bench` line per path and writes
# docs/perf/sel4.tsv (plotted by `make docs`). Measures only; `make test` never runs it.
bench:
	$(CARGO) xtask bench --tsv docs/perf/sel4.tsv
