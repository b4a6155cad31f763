# Thin porcelain over cargo and `cargo xtask`; all logic lives in xtask/.
#
#   make test       host tests (no kernel needed) + the QEMU tier when SEL4_PREFIX is set
#   make run        build the default image and boot it in QEMU (needs SEL4_PREFIX)
#   make test-qemu  boot every QEMU test manifest and judge the serial output (needs SEL4_PREFIX)
#   make check      rustfmt + clippy (host and aarch64 targets)
#   make targets    build every seL4-side crate for aarch64-unknown-none
#   make docs       regenerate the generated docs: rights and guest tables, the system diagram
#                   (Graphviz `dot`) and the benchmark plot (`gnuplot`; Debian: graphviz,
#                   gnuplot-nox)

MANIFEST ?= manifests/default.toml
CARGO ?= cargo

.PHONY: test host-test test-qemu run check targets docs clean

test: host-test targets
	@$(CARGO) xtask test-qemu --if-kernel

host-test:
	$(CARGO) test

test-qemu:
	$(CARGO) xtask test-qemu

run:
	$(CARGO) xtask run --manifest $(MANIFEST)

targets:
	$(CARGO) xtask build-targets

check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) xtask clippy-targets

docs:
	UPDATE_DOCS=1 $(CARGO) test -p caps --test rights_doc
	UPDATE_DOCS=1 $(CARGO) test -p guests
	dot -Tsvg docs/diagrams/system.dot -o docs/diagrams/system.svg
	awk -F'\t' -f docs/perf/check.awk docs/perf/host.tsv docs/PERFORMANCE.md
	gnuplot docs/perf/plot.gp

clean:
	$(CARGO) clean
