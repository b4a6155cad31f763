# Thin porcelain over cargo and `cargo xtask`; all logic lives in xtask/.
#
#   make test       host tests (no kernel needed) + the QEMU tier when SEL4_PREFIX is set
#   make run        build the default image and boot it in QEMU (needs SEL4_PREFIX)
#   make run-linux  fetch Debian's arm64 kernel + busybox (cached) and boot manifests/linux.toml
#   make bench-linux  Linux boot through the server vs bare QEMU (measures, never asserts)
#   make test-qemu  boot every QEMU test manifest and judge the serial output (needs SEL4_PREFIX)
#   make check      rustfmt + clippy (host and aarch64 targets)
#   make targets    build every seL4-side crate for aarch64-unknown-none

MANIFEST ?= manifests/default.toml
CARGO ?= cargo

.PHONY: test host-test test-qemu run run-linux bench-linux check targets docs clean

test: host-test targets
	@$(CARGO) xtask test-qemu --if-kernel

host-test:
	$(CARGO) test

test-qemu:
	$(CARGO) xtask test-qemu

run:
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
	UPDATE_DOCS=1 $(CARGO) test -p guests

clean:
	$(CARGO) clean
