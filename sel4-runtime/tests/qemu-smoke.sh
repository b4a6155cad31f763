#!/bin/sh
# QEMU boot test of the sel4 bindings and sel4-runtime. Builds the smoke root task
# (tests/smoke) twice -- normal and with the deliberate panic -- embeds each with the
# reference kernel into the vcpu-loader image (see loader/README.md) and boots QEMU.
#
# Pass conditions:
#   normal run: every smoke case prints PASS, no FAIL, the success sentinel appears, and
#               QEMU exits with status 0 (PSCI SYSTEM_OFF through the SMC cap);
#   panic run:  the panic message and the failure sentinel appear; the root task is then
#               suspended, so QEMU idles until the timeout (status 124 is expected).
#
# Environment: SEL4_PREFIX (default /work/sel4-prefix), CARGO_TARGET_DIR
# (default /work/targets/sel4-smoke), SMOKE_TIMEOUT seconds (default 60).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
main_dir=$(cd "$here/../.." && pwd)
prefix=${SEL4_PREFIX:-/work/sel4-prefix}
target=${CARGO_TARGET_DIR:-/work/targets/sel4-smoke}
timeout_s=${SMOKE_TIMEOUT:-60}
success='*** ALL TESTS PASSED ***'
failure='*** TEST FAILURE ***'

build_image() { # $1 = smoke features ("" or panic-test), $2 = output image path
    (cd "$here/smoke" && CARGO_TARGET_DIR=$target/smoke-$3 \
        cargo build --quiet --release --target aarch64-unknown-none ${1:+--features "$1"})
    root_task=$target/smoke-$3/aarch64-unknown-none/release/sel4-smoke
    (cd "$main_dir" && SEL4_KERNEL_ELF=$prefix/bin/kernel.elf ROOT_TASK_ELF=$root_task \
        CARGO_TARGET_DIR=$target/loader-$3 \
        cargo build --quiet -p vcpu-loader --features image --target aarch64-unknown-none --release)
    cp "$target/loader-$3/aarch64-unknown-none/release/vcpu-loader" "$2"
}

run_qemu() { # $1 = image, $2 = log; prints QEMU's exit status
    status=0
    timeout "$timeout_s" qemu-system-aarch64 -machine virt,virtualization=on,secure=off,gic-version=2 \
        -cpu cortex-a57 -smp 1 -m 2048 -nographic -kernel "$1" >"$2" 2>&1 </dev/null || status=$?
    echo "$status"
}

mkdir -p "$target"
failed=0

build_image "" "$target/image-normal" normal
log=$target/normal.log
status=$(run_qemu "$target/image-normal" "$log")
ok=1
grep -q "smoke: hello from sel4-runtime" "$log" || { echo "[normal] no hello line"; ok=0; }
grep -q "^PASS " "$log" || { echo "[normal] no PASS line"; ok=0; }
if grep -q "^FAIL " "$log"; then echo "[normal] FAIL lines:"; grep "^FAIL " "$log"; ok=0; fi
grep -qF "$success" "$log" || { echo "[normal] no success sentinel"; ok=0; }
grep -qF "$failure" "$log" && { echo "[normal] failure sentinel printed"; ok=0; }
[ "$status" -eq 0 ] || { echo "[normal] QEMU exit status $status (124 = timeout)"; ok=0; }
if [ "$ok" -eq 1 ]; then echo "[normal] PASS ($(grep -c '^PASS ' "$log") cases)"; else
    echo "[normal] FAIL; console:"; sed 's/^/    /' "$log"; failed=1; fi

build_image panic-test "$target/image-panic" panic
log=$target/panic.log
status=$(SMOKE_TIMEOUT=${SMOKE_PANIC_TIMEOUT:-20} run_qemu "$target/image-panic" "$log")
ok=1
grep -q "panicked at .*deliberate panic (panic-test)" "$log" || { echo "[panic] no panic message"; ok=0; }
grep -qF "$failure" "$log" || { echo "[panic] no failure sentinel"; ok=0; }
[ "$status" -eq 124 ] || { echo "[panic] QEMU exit status $status, expected 124 (suspended)"; ok=0; }
if [ "$ok" -eq 1 ]; then echo "[panic] PASS"; else
    echo "[panic] FAIL; console:"; sed 's/^/    /' "$log"; failed=1; fi
exit "$failed"
